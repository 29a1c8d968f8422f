"""Schema pieces shared by every endpoint's documentation (drf-spectacular): the problem
document, the error responses of an endpoint, and the names of nested serializers. The
authentication schemes are documented where their classes are (identity.http.openapi)."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import (
    Direction,
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from rest_framework import serializers

from core.errors import ErrorCode
from core.idempotency import KEY_HEADER, KEY_PATTERN, MAX_KEY_LENGTH

ProblemSerializer = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.CharField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "code": serializers.IntegerField(help_text="Stable error code; see docs/errors.md."),
        "errors": inline_serializer(
            name="FieldProblem",
            many=True,
            required=False,
            fields={
                "field": serializers.CharField(),
                "code": serializers.CharField(),
                "message": serializers.CharField(),
            },
        ),
    },
)


def problem_example(code: ErrorCode) -> dict[str, Any]:
    """The problem document of ``code`` as the API answers it (its detail varies by case)."""
    return {
        "type": code.type_uri,
        "title": code.title,
        "status": code.status,
        "detail": code.description,
        "code": code.number,
    }


def problem(description: str, codes: tuple[ErrorCode, ...] = ()) -> OpenApiResponse:
    """An error response; with ``codes``, an example of each (else ``problem_examples_document``
    gives it the general code of its status)."""
    examples = [
        OpenApiExample(
            f"{code.number} {code.slug}", value=problem_example(code), response_only=True
        )
        for code in codes
    ]
    return OpenApiResponse(response=ProblemSerializer, description=description, examples=examples)


PROBLEM_MEDIA_TYPE = "application/problem+json"


def problems(
    **by_status: str | tuple[str, *tuple[ErrorCode, ...]],
) -> dict[tuple[int, str], OpenApiResponse]:
    """``problems(_401="...", _409=("...", CART_EMPTY, CART_ALREADY_ORDERED))`` → the error
    responses of an endpoint, documented with the media type they are served as, and with an
    example of each code named."""
    responses = {}
    for key, described in by_status.items():
        text, *codes = (described,) if isinstance(described, str) else described
        assert isinstance(text, str)
        responses[(int(key.lstrip("_")), PROBLEM_MEDIA_TYPE)] = problem(text, tuple(codes))
    return responses


def _general_code(status: int) -> ErrorCode | None:
    """The lowest-numbered code of ``status``: the general one of its kind (1000
    validation_failed, 2000 credentials_missing, 1004 not_found, 1029 throttled...)."""
    numbers = sorted(number for number, code in ErrorCode.registry.items() if code.status == status)
    return ErrorCode.registry[numbers[0]] if numbers else None


def problem_examples_document(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Post-processing hook: every problem answer without an example of its own gets the
    general code of its status as one, so that no example shows a made-up ``code: 0``."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                media = response.get("content", {}).get(PROBLEM_MEDIA_TYPE)
                if media is None or "examples" in media or "example" in media:
                    continue
                code = _general_code(int(status)) if str(status).isdigit() else None
                if code is not None:
                    media["examples"] = {
                        code.slug: {
                            "value": problem_example(code),
                            "summary": f"{code.number} {code.slug}",
                        }
                    }
    return result


def page_of(name: str, item: serializers.Field) -> serializers.Serializer:
    """A page as the paginated lists answer it: ``count``, ``next``, ``previous`` and the
    ``results`` (``item`` with ``many=True``)."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item,
        },
    )


class AutoSchema(openapi.AutoSchema):
    """Names a view's nested ``InputSerializer``/``OutputSerializer`` after the view
    (``CartLinesApi.InputSerializer`` → ``CartLinesInput``). Every view has its own pair under
    the same class names, which would otherwise share, and overwrite, one component."""

    def get_serializer_name(self, serializer: serializers.Serializer, direction: Direction) -> str:
        owner, _, name = type(serializer).__qualname__.rpartition(".")
        if not owner or "<locals>" in owner:
            return super().get_serializer_name(serializer, direction)
        return owner.removesuffix("Api").replace(".", "") + name


class ClosedSerializerScheme(OpenApiSerializerExtension):
    """A ``core.fields.ClosedSerializer`` refuses fields it does not name: its schema says so."""

    target_class = "core.fields.ClosedSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema


def idempotency_key_parameter(what: str) -> OpenApiParameter:
    """The ``Idempotency-Key`` header of a write that ``core.idempotency`` makes happen once;
    ``what`` names the request (e.g. "this checkout")."""
    return OpenApiParameter(
        name=KEY_HEADER,
        # Spaces at either end are no part of a header's value (RFC 9110 section 5.5): a key
        # needs one other character.
        type={
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_KEY_LENGTH,
            "pattern": KEY_PATTERN,
        },
        location=OpenApiParameter.HEADER,
        required=True,
        description=(
            f"1-{MAX_KEY_LENGTH} printable ASCII characters chosen by the client, the same on "
            f"every retry of {what}. A retry gets the first answer again (with "
            "Idempotent-Replayed: true); the same key with another body is a 422. Kept 24 hours."
        ),
    )
