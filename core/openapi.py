"""Schema pieces shared by every endpoint's documentation (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import Direction, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

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


CONTEXT_HEADER = OpenApiParameter(
    name="X-Customer-Context",
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "The customer context minted for this bearer by "
        "GET /commerceapi/authentication/customercontext."
    ),
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


class StorefrontKeyScheme(OpenApiAuthenticationExtension):
    target_class = "identity.http.authentication.StorefrontKeyAuthentication"
    name = "storefrontKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-Auth-Key"}


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "identity.http.authentication.BearerAuthentication"
    name = "bearer"
    match_subclasses = True

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class ShopperScheme(OpenApiAuthenticationExtension):
    """The shopper endpoints' bearer, which comes with its ``X-Customer-Context``."""

    target_class = "identity.http.authentication.ShopperAuthentication"
    name = "shopper"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A shopper's bearer token, sent together with X-Customer-Context.",
        }
