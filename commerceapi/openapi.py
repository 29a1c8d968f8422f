"""Schema pieces shared by every endpoint's documentation (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
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


def problems(**by_status: str) -> dict[int, OpenApiResponse]:
    """``problems(_401="...", _404="...")`` → the error responses of an endpoint."""
    return {int(key.lstrip("_")): problem(text) for key, text in by_status.items()}


CONTEXT_HEADER = OpenApiParameter(
    name="X-Customer-Context",
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "The customer context minted for this bearer by "
        "GET /commerceapi/authentication/customercontext."
    ),
)


class StorefrontKeyScheme(OpenApiAuthenticationExtension):
    target_class = "identity.authentication.StorefrontKeyAuthentication"
    name = "storefrontKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-Auth-Key"}


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "identity.authentication.BearerAuthentication"
    name = "bearer"
    match_subclasses = True

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
