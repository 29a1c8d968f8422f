"""How identity's authentication classes and headers appear in the OpenAPI schema.

Importing this module registers the schemes with drf-spectacular (the URL map does).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter

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
    target_class = "identity.http.authentication.StorefrontKeyAuthentication"
    name = "storefrontKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Auth-Key",
            "description": "Storefront: the storefront app's own key (anonymous tokens, the "
            "catalog). Refused on every other surface.",
        }


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "identity.http.authentication.BearerAuthentication"
    name = "bearer"
    match_subclasses = True

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Storefront: an anonymous or customer token (ours, or an identity "
            "provider's access token) or a client token, after 'Authorization: Bearer ' (the "
            "prefix is required: 401, 2002). A reseller token is refused here (401, 2131).",
        }


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
            "description": "Storefront: a shopper's bearer token, sent together with "
            "X-Customer-Context. A reseller token is refused here (401, 2131).",
        }


class ResellerScheme(OpenApiAuthenticationExtension):
    """The Reseller surface's bearer: a partner's reseller token from Generate Token."""

    target_class = "identity.http.authentication.ResellerAuthentication"
    name = "resellerBearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A partner's reseller token from POST /reseller/token (Generate "
            "Token), valid 15 minutes; no other token is taken on /reseller/.",
        }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The Supplier and Payment APIs' key."""

    target_class = "identity.http.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "ApiKey",
            "description": "An integration's API key, ak_live_…, issued per tenant for one "
            "surface (supplier or payment). X-Tenant (the tenant's slug) may name the tenant.",
        }


TENANT_HEADER = OpenApiParameter(
    name="X-Tenant",
    location=OpenApiParameter.HEADER,
    required=False,
    description="The tenant's slug, for integrations serving several tenants: a key of "
    "another tenant is then a 401.",
)
