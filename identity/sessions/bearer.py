"""From the credentials of a request to a Principal.

A bearer is parsed once (``token_parse``); the parsed form is what every later step reads. It is
one of our own tokens (its unverified ``iss`` is ours: an anonymous token, a customer or client
token of the token service), verified as the kind its unverified ``token_type`` names through
the kinds registry (identity.credentials.kinds), which checks everything again, so a token
cannot choose the class that checks it; or an access token of an external identity provider,
verified with that provider's keys (identity.customers.providers). Which provider is decided by
the exact ``iss`` among the providers of the request's tenant.

Two ways to a Principal:

- ``bearer_principal``: the bearer alone (customer context minting, the catalog). A provider's
  token signs its customer in here: first sight creates the customer.
- ``shopper_principal``: bearer and customer context together (every cart call). The customer
  comes from the context, which is bound to this bearer, so no query is needed; revocation is
  one cache read.

Both are the Storefront surface's: a reseller token is refused there (401, 2131), and
``reseller_principal`` (the Reseller surface) takes nothing but a reseller token (401, 2130).
"""

from __future__ import annotations

from django.conf import settings

from core.errors import DomainError
from identity import errors
from identity.credentials.jws import ParsedToken
from identity.credentials.kinds import ProviderAccessToken, VerifiedBearer, own_bearer_verify
from identity.credentials.tokens import TokenRejected, token_parse
from identity.customers.customers import customer_sign_in
from identity.customers.providers import (
    AmbiguousIssuer,
    ProviderIdentity,
    ProviderTokenRejected,
    ProviderUnavailable,
    provider_for_issuer,
    provider_token_refused,
    provider_token_verify,
)
from identity.principal import SHOPPER_KINDS, Principal, PrincipalKind, Surface
from identity.scopes import CUSTOMER_SCOPES
from identity.sessions.context import CustomerContext, customer_context_read

__all__ = [
    "VerifiedBearer",
    "bearer_principal",
    "bearer_verify",
    "reseller_principal",
    "shopper_principal",
]


def _is_own(token: ParsedToken) -> bool:
    return token.payload.get("iss") == settings.TOKEN_ISSUER


def _parsed(raw_token: str) -> ParsedToken:
    try:
        return token_parse(raw_token)
    except TokenRejected:
        raise DomainError(errors.TOKEN_INVALID) from None


def own_token_verify(raw_token: str) -> VerifiedBearer:
    """One of our own bearer tokens, verified as the kind it names; ``TokenRejected`` else."""
    token = token_parse(raw_token)
    if not _is_own(token):
        raise TokenRejected("not one of our tokens")
    return own_bearer_verify(token)


def _own_bearer(token: ParsedToken) -> VerifiedBearer:
    """One of our tokens of the Storefront surface, verified."""
    bearer = _own_bearer_verified(token)
    if bearer.surface is not Surface.STOREFRONT:
        raise DomainError(errors.TOKEN_OF_ANOTHER_SURFACE)
    return bearer


def _own_bearer_verified(token: ParsedToken) -> VerifiedBearer:
    try:
        return own_bearer_verify(token)
    except TokenRejected as rejected:
        code = errors.TOKEN_EXPIRED if rejected.expired else errors.TOKEN_INVALID
        raise DomainError(code) from None


def _provider_bearer(token: ParsedToken, tenant_id: int | None) -> VerifiedBearer:
    """A provider's token, verified; every refusal is logged with its reason (never the
    token)."""
    issuer = token.payload.get("iss")
    if not isinstance(issuer, str):
        provider_token_refused(token, reason="no issuer")
        raise DomainError(errors.TOKEN_INVALID)
    try:
        provider = provider_for_issuer(issuer=issuer, tenant_id=tenant_id)
    except AmbiguousIssuer:
        provider_token_refused(token, reason="issuer trusted by several tenants: tenant unknown")
        raise DomainError(errors.TENANT_UNDETERMINED) from None
    if provider is None:
        provider_token_refused(token, reason="issuer of no enabled provider of the tenant")
        raise DomainError(errors.PROVIDER_UNKNOWN)
    try:
        identity = provider_token_verify(provider, token)
    except ProviderUnavailable as unavailable:
        provider_token_refused(
            token, reason=f"provider unavailable: {unavailable}", provider=provider
        )
        raise DomainError(errors.PROVIDER_UNAVAILABLE) from None
    except ProviderTokenRejected as rejected:
        provider_token_refused(token, reason=str(rejected), provider=provider)
        if rejected.id_token:
            raise DomainError(errors.ID_TOKEN_REFUSED) from None
        code = errors.TOKEN_EXPIRED if rejected.expired else errors.TOKEN_INVALID
        raise DomainError(code) from None
    return VerifiedBearer(
        kind=ProviderAccessToken,
        tenant_id=provider.tenant_id,
        expires_at=identity.expires_at,
        token_id=str(identity.claims.get("jti", ""))[:64],
        provider_id=provider.public_id,
        external=identity,
        scopes=CUSTOMER_SCOPES,
        issued_at=_issued_at(identity.claims.get("iat")),
    )


def _issued_at(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _verified(token: ParsedToken, *, tenant_id: int | None) -> VerifiedBearer:
    if _is_own(token):
        bearer = _own_bearer(token)
        if tenant_id is not None and bearer.tenant_id != tenant_id:
            raise DomainError(errors.TOKEN_INVALID)
        return bearer
    return _provider_bearer(token, tenant_id)


def bearer_verify(raw_token: str, *, tenant_id: int | None) -> VerifiedBearer:
    """Verify a bearer of any kind; a 401 (or 503) ``DomainError`` for anything else.

    ``tenant_id`` scopes provider lookup; without it a provider's issuer must be trusted by
    exactly one tenant.
    """
    return _verified(_parsed(raw_token), tenant_id=tenant_id)


def bearer_customer_id(bearer: VerifiedBearer) -> str:
    """The customer a customer bearer names: a provider's token signs its customer in
    (a disabled provider or tenant signs nobody in, not even a new customer)."""
    if isinstance(bearer.external, ProviderIdentity):
        bearer.refuse_if_revoked()
        return customer_sign_in(identity=bearer.external)
    return bearer.subject_id


def bearer_principal(raw_token: str, *, tenant_id: int | None = None) -> Principal:
    """The caller of a bearer alone. A provider's token signs its customer in (may write)."""
    bearer = bearer_verify(raw_token, tenant_id=tenant_id)
    return bearer.principal(bearer_customer_id(bearer))


def shopper_principal(*, raw_bearer: str, raw_context: str) -> Principal:
    """The shopper of a bearer and the customer context minted for it; no query needed.

    Our own tokens are checked before the context, so that a bad bearer is reported as such;
    a provider's token needs the context's tenant first.
    """
    token = _parsed(raw_bearer)
    context: CustomerContext
    if _is_own(token):
        bearer = _own_bearer(token)
        if bearer.principal_kind not in SHOPPER_KINDS:
            # No context is ever minted for it: say what is wrong, not "context missing".
            raise DomainError(errors.SHOPPER_REQUIRED)
        context = customer_context_read(raw_context=raw_context, raw_bearer=raw_bearer)
    else:
        context = customer_context_read(raw_context=raw_context, raw_bearer=raw_bearer)
        bearer = _provider_bearer(token, context.tenant_id)
    if (
        context.tenant_id != bearer.tenant_id
        or context.is_anonymous != (bearer.principal_kind is PrincipalKind.ANONYMOUS)
        or context.provider_id != bearer.provider_id
        or (bearer.subject_id and context.subject_id != bearer.subject_id)
    ):
        raise DomainError(errors.CONTEXT_MISMATCH)
    return bearer.principal(context.subject_id)


def reseller_principal(raw_token: str) -> Principal:
    """The partner of a reseller token; no query (revocation is one cache read). Any other
    token, ours or a provider's, is a 401 ``reseller_token_required`` once it is known not to
    be a forgery (a bad one is ``token_invalid``)."""
    token = _parsed(raw_token)
    if not _is_own(token):
        raise DomainError(errors.RESELLER_TOKEN_REQUIRED)
    bearer = _own_bearer_verified(token)
    if bearer.surface is not Surface.RESELLER:
        raise DomainError(errors.RESELLER_TOKEN_REQUIRED)
    return bearer.principal(bearer.subject_id)
