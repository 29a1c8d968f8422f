"""Page-number pagination that refuses what it cannot honour.

``page`` (from 1, or ``last``) and ``pageSize`` (from 1 to ``max_page_size``) are whole
numbers, each sent at most once. Anything else (``abc``, ``true``, ``-5``, ``0``, a size over
the maximum, a repeated parameter) is a 400 ``query_parameter_invalid`` naming the parameter,
rather than a silent fallback to the default or a 404; a page past the last one is still a
404. List endpoints use it as their paginator and document it with ``openapi_parameters()``.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from drf_spectacular.utils import OpenApiParameter
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from core import errors
from core.errors import DomainError

# Past any page a client could mean, and short enough that int() is cheap.
MAX_PAGE = 999_999_999


class StrictPageNumberPagination(PageNumberPagination):
    page_size = 20
    page_query_param = "page"
    page_size_query_param = "pageSize"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        size = _whole_number(
            request,
            self.page_size_query_param,
            maximum=self.max_page_size,
            message=f"A whole number from 1 to {self.max_page_size}.",
        )
        return self.page_size if size is None else size

    def get_page_number(self, request: Request, paginator: Paginator) -> int:
        if request.query_params.getlist(self.page_query_param) == ["last"]:
            return paginator.num_pages
        number = _whole_number(
            request,
            self.page_query_param,
            maximum=MAX_PAGE,
            message=f'A whole number from 1 to {MAX_PAGE}, or "last".',
        )
        return 1 if number is None else number

    @classmethod
    def openapi_parameters(cls, noun: str = "items") -> list[OpenApiParameter]:
        return [
            OpenApiParameter(
                cls.page_query_param,
                {
                    "oneOf": [
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                        {"type": "string", "enum": ["last"]},
                    ]
                },
                description='Page number, from 1 (default 1), or "last". A page past the last '
                "is a 404.",
            ),
            OpenApiParameter(
                cls.page_size_query_param,
                {"type": "integer", "minimum": 1, "maximum": cls.max_page_size},
                description=f"{noun.capitalize()} per page (default {cls.page_size}, "
                f"at most {cls.max_page_size}).",
            ),
        ]


def _whole_number(
    request: Request, name: str, *, message: str, maximum: int | None = None
) -> int | None:
    values: list[Any] = request.query_params.getlist(name)
    if not values:
        return None
    raw = values[0]
    valid = (
        len(values) == 1
        and isinstance(raw, str)
        and raw.isascii()
        and raw.isdigit()
        and len(raw) <= len(str(MAX_PAGE))
        and int(raw) >= 1
        and (maximum is None or int(raw) <= maximum)
    )
    if not valid:
        raise DomainError.for_field(errors.QUERY_PARAMETER_INVALID, name, message)
    return int(raw)
