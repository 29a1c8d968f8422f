"""Schema pieces shared by every endpoint's documentation (drf-spectacular): the problem
document, the error responses of an endpoint, and the names of nested serializers. The
authentication schemes are documented where their classes are (identity.http.openapi)."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import Direction, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

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


def problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ProblemSerializer, description=description)


PROBLEM_MEDIA_TYPE = "application/problem+json"


def problems(**by_status: str) -> dict[tuple[int, str], OpenApiResponse]:
    """``problems(_401="...", _404="...")`` → the error responses of an endpoint, documented
    with the media type they are served as."""
    return {
        (int(key.lstrip("_")), PROBLEM_MEDIA_TYPE): problem(text) for key, text in by_status.items()
    }


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
