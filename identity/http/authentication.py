"""DRF authentication classes. Each returns None when the request is not its kind of caller
and raises (401, with ``WWW-Authenticate``) when it is, but the credentials are wrong.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from core.errors import DomainError
from core.problems import ProblemAuthenticationFailed, ProblemException, security_logger
from identity import errors
from identity.principal import Principal, PrincipalKind
from identity.scopes import CATALOG_READ
from identity.sessions.bearer import bearer_principal, shopper_principal
from identity.tenancy.api_keys import (
    ApiKeyInfo,
    ApiKeyRefused,
    RefusalReason,
    api_key_resolve,
    api_key_used,
)
from identity.tenancy.storefront import StorefrontKeyInfo, storefront_key_resolve

AUTH_KEY_HEADER = "HTTP_X_AUTH_KEY"
CONTEXT_HEADER = "HTTP_X_CUSTOMER_CONTEXT"
# ``ApiKey: <key>``; header names are case-insensitive, and WSGI hands them over in capitals.
API_KEY_HEADER = "HTTP_APIKEY"
TENANT_HEADER = "HTTP_X_TENANT"
REALM = "commerceapi"
# Query parameters a client might put a key in. They are never read; their presence is refused,
# so that a key which leaked into a URL (and into every log on its way) is not accepted.
API_KEY_QUERY_PARAMETERS = frozenset({"apikey", "api_key", "api-key", "key", "access_token"})


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


def api_key_refusal_log(request: Any, *, reason: str, key_id: str) -> None:
    """Why a key was refused, in the security log: the reason and the key's id, never the key."""
    security_logger.warning(
        "api key refused on %s %s: %s",
        request.method,
        request.path,
        reason,
        extra={"reason": reason, "key_id": key_id},
    )


class ApiKeyAuthentication(BaseAuthentication):
    """``ApiKey: <key>``, the one credential of the Supplier and Payment APIs (kind ``api_key``).

    Every failure is the one 401 ``api_key_invalid``; the security log says which it was (by
    the key's id, never the key). A bearer token or an X-Auth-Key, alone or beside a key, and a
    key in the query string are refused too. ``X-Tenant: <slug>`` names the tenant the request
    is for; a key of another tenant is refused.
    """

    def authenticate(self, request: Request) -> tuple[Principal, ApiKeyInfo]:
        meta = request.META
        try:
            if "HTTP_AUTHORIZATION" in meta or AUTH_KEY_HEADER in meta:
                raise ApiKeyRefused(RefusalReason.OTHER_CREDENTIAL)
            if any(name.lower() in API_KEY_QUERY_PARAMETERS for name in request.query_params):
                raise ApiKeyRefused(RefusalReason.QUERY_KEY)
            info = api_key_resolve(meta.get(API_KEY_HEADER), tenant_slug=meta.get(TENANT_HEADER))
        except ApiKeyRefused as refused:
            api_key_refusal_log(request, reason=refused.reason, key_id=refused.key_id)
            raise ProblemAuthenticationFailed(errors.API_KEY_INVALID) from None
        api_key_used(info.key_id)
        principal = Principal(
            tenant_id=info.tenant_id,
            kind=PrincipalKind.API_KEY,
            subject_id=info.key_id,
            scopes=frozenset(info.scopes),
            token_id=info.key_id,
            expires_at=int(info.expires_at or 0),
            api_surface=info.surface,
            party_id=info.party_id,
        )
        return principal, info

    def authenticate_header(self, request: Request) -> str:
        return f'ApiKey realm="{REALM}"'


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
