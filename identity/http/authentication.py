"""DRF authentication classes. Each returns None when the request is not its kind of caller
and raises (401, with ``WWW-Authenticate``) when it is, but the credentials are wrong.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from core.errors import DomainError
from core.problems import ProblemAuthenticationFailed, ProblemException
from identity import errors
from identity.principal import Principal, PrincipalKind
from identity.scopes import CATALOG_READ
from identity.sessions.bearer import bearer_principal, reseller_principal, shopper_principal
from identity.tenancy.storefront import StorefrontKeyInfo, storefront_key_resolve

AUTH_KEY_HEADER = "HTTP_X_AUTH_KEY"
CONTEXT_HEADER = "HTTP_X_CUSTOMER_CONTEXT"
REALM = "commerceapi"


class StorefrontKeyAuthentication(BaseAuthentication):
    """``X-Auth-Key: <key>``: the storefront app itself (kind ``client``)."""

    def authenticate(self, request: Request) -> tuple[Principal, StorefrontKeyInfo] | None:
        raw_key = request.META.get(AUTH_KEY_HEADER)
        if raw_key is None:
            return None
        info = storefront_key_resolve(raw_key)
        if info is None:
            raise ProblemAuthenticationFailed(errors.AUTH_KEY_INVALID)
        principal = Principal(
            tenant_id=info.tenant_id,
            kind=PrincipalKind.CLIENT,
            subject_id=info.app_id,
            client_id=info.app_id,
            scopes=frozenset({CATALOG_READ}),
        )
        return principal, info

    def authenticate_header(self, request: Request) -> str:
        return f'X-Auth-Key realm="{REALM}"'


class BearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>``: our own token or an identity provider's.

    Any other scheme is a 401. A provider's token is looked up among the providers of the tenant
    of the ``X-Auth-Key`` sent with it, if one is; else its issuer must be trusted by one tenant.
    """

    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        tenant_id = None
        raw_key = request.META.get(AUTH_KEY_HEADER)
        if raw_key is not None:
            storefront = storefront_key_resolve(raw_key)
            if storefront is None:
                raise ProblemAuthenticationFailed(errors.AUTH_KEY_INVALID)
            tenant_id = storefront.tenant_id
        try:
            principal = bearer_principal(raw_token, tenant_id=tenant_id)
        except DomainError as error:
            raise _as_api_exception(error) from None
        return principal, raw_token

    @staticmethod
    def get_raw_token(header: str) -> str:
        scheme, _, raw_token = header.partition(" ")
        # The scheme name is case-insensitive (RFC 9110, section 11.1).
        if scheme.lower() != "bearer" or not raw_token.strip():
            raise ProblemAuthenticationFailed(errors.BEARER_SCHEME_REQUIRED)
        return raw_token.strip()

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'


class ShopperAuthentication(BearerAuthentication):
    """A shopper's bearer together with its ``X-Customer-Context``, bound to that bearer."""

    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None
        raw_bearer = self.get_raw_token(header)
        try:
            principal = shopper_principal(
                raw_bearer=raw_bearer, raw_context=request.META.get(CONTEXT_HEADER, "")
            )
        except DomainError as error:
            raise _as_api_exception(error) from None
        return principal, raw_bearer


class ResellerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <reseller token>``: a partner, on the Reseller surface. Any
    other scheme (``ApiKey`` too) or token is a 401; X-Auth-Keys are not read here."""

    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None
        raw_token = BearerAuthentication.get_raw_token(header)
        try:
            principal = reseller_principal(raw_token)
        except DomainError as error:
            raise _as_api_exception(error) from None
        return principal, raw_token

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'


def _as_api_exception(error: DomainError) -> Exception:
    """401s keep DRF's ``WWW-Authenticate`` handling; a provider outage stays a 503."""
    if error.code.status == 401:
        return ProblemAuthenticationFailed(error.code)
    return ProblemException(error.code)


def principal_of(request: Any) -> Principal:
    """The request's Principal; views call it only behind a permission that requires one."""
    user = request.user
    assert isinstance(user, Principal)
    return user
