"""From the credentials of a request to a Principal.

A bearer is one of our own tokens (its unverified ``iss`` is ours: an anonymous token, a
customer or client token of the token service), dispatched on its unverified ``token_type`` to
the class of that kind, which verifies everything again, so a token cannot
choose the class that checks it; or an access token of an external identity provider, verified
with that provider's keys (identity/providers.py). Which provider is decided by the exact ``iss``
among the providers of the request's tenant.

Two ways to a Principal:

- ``bearer_principal``: the bearer alone (customer context minting, the catalog). A provider's
  token signs its customer in here: first sight creates the customer.
- ``shopper_principal``: bearer and customer context together (every cart call). The customer
  comes from the context, which is bound to this bearer, so no query is needed; revocation is
  one cache read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from django.conf import settings

from core.errors import DomainError, ErrorCode
from identity import errors
from identity.credentials.revocation import (
    anonymous_revocation_key,
    app_revocation_key,
    client_revocation_key,
    customer_revocation_key,
    grant_revocation_key,
    provider_revocation_key,
    revoked_keys,
    signout_revocation_key,
    tenant_revocation_key,
    token_revocation_key,
)
from identity.credentials.tokens import (
    CLAIM_APP,
    CLAIM_CLIENT,
    CLAIM_GRANT,
    CLAIM_SCOPE,
    CLAIM_SUBJECT,
    CLAIM_TENANT,
    CLAIM_TOKEN_TYPE,
    MAX_TOKEN_LENGTH,
    AnonymousAccessToken,
    ClientAccessToken,
    CustomerAccessToken,
    KeyringToken,
    TokenRejected,
    token_decode,
)
from identity.customers.customers import customer_sign_in
from identity.customers.providers import (
    AmbiguousIssuer,
    ProviderIdentity,
    ProviderTokenRejected,
    ProviderUnavailable,
    provider_for_issuer,
    provider_token_verify,
)
from identity.principal import SHOPPER_KINDS, Principal, PrincipalKind
from identity.scopes import (
    ANONYMOUS_DEFAULT_SCOPES,
    CUSTOMER_SCOPES,
    KNOWN_SCOPES,
    scope_parse,
)
from identity.sessions.context import CustomerContext, customer_context_read


def _revocation_code(revoked: set[str]) -> ErrorCode:
    """The most useful reason to give: a retired anonymous id tells the storefront what to do."""
    if any(key.startswith("anonymous:") for key in revoked):
        return errors.ANONYMOUS_SESSION_ENDED
    if any(key.startswith("customer:") for key in revoked):
        return errors.CUSTOMER_DEACTIVATED
    return errors.TOKEN_REVOKED


@dataclass(frozen=True)
class VerifiedBearer:
    """A bearer token whose signature and claims have been verified."""

    tenant_id: int
    kind: PrincipalKind
    expires_at: int
    token_id: str = ""
    # The storefront app of an anonymous token; the client of a client token.
    client_id: str = ""
    # The anonymous id, or the customer id when the token itself names the customer.
    subject_id: str = ""
    # For a provider's token: the identity it proves (its customer is found by sign-in or
    # by the customer context).
    external: ProviderIdentity | None = None
    scopes: frozenset[str] = frozenset()
    # Epoch seconds; None when a provider's token does not say.
    issued_at: float | None = None
    # The token service's client and sign-in the token came from, if it did.
    oauth_client_id: str = ""
    grant_id: str = ""
    # The storefront app the token was issued through (anonymous tokens, and customer tokens
    # of a sales channel): deactivating it ends the token.
    storefront_app_id: str = ""
    # The verified claims of one of our own tokens.
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def provider_id(self) -> str:
        return self.external.provider.public_id if self.external else ""

    def revocation_keys(self, subject_id: str | None) -> list[str]:
        """What may have been revoked since the token was issued: its tenant, its app or
        provider, and (once known) its anonymous id or customer."""
        keys = [tenant_revocation_key(self.tenant_id)]
        if self.oauth_client_id:
            keys += [
                client_revocation_key(self.oauth_client_id),
                token_revocation_key(self.token_id),
            ]
        if self.grant_id:
            keys.append(grant_revocation_key(self.grant_id))
        if self.storefront_app_id:
            keys.append(app_revocation_key(self.storefront_app_id))
        if self.kind is PrincipalKind.ANONYMOUS:
            if subject_id:
                keys.append(anonymous_revocation_key(self.tenant_id, subject_id))
            return keys
        if self.external is not None:
            keys.append(provider_revocation_key(self.provider_id))
        if subject_id and self.kind is PrincipalKind.CUSTOMER:
            keys += [customer_revocation_key(subject_id), signout_revocation_key(subject_id)]
        return keys

    def refuse_if_revoked(self, subject_id: str | None = None) -> None:
        revoked = revoked_keys(self.revocation_keys(subject_id), issued_at=self.issued_at)
        if revoked:
            raise DomainError(_revocation_code(revoked))

    def principal(self, subject_id: str) -> Principal:
        self.refuse_if_revoked(subject_id)
        return Principal(
            tenant_id=self.tenant_id,
            kind=self.kind,
            subject_id=subject_id,
            client_id=self.client_id,
            token_id=self.token_id,
            expires_at=self.expires_at,
            provider_id=self.provider_id,
            scopes=self.scopes,
            oauth_client_id=self.oauth_client_id,
        )


def _is_own(unverified: dict[str, object]) -> bool:
    return unverified.get("iss") == settings.TOKEN_ISSUER


def _unverified_claims(raw_token: str) -> dict[str, object]:
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH:
        raise DomainError(errors.TOKEN_INVALID)
    try:
        claims = jwt.decode(raw_token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise DomainError(errors.TOKEN_INVALID) from None
    return claims


# The kinds of our own tokens a request may bear; refresh tokens are opaque and contexts are
# never bearers.
_BEARER_KINDS: dict[str, type[KeyringToken]] = {
    token_class.token_type: token_class
    for token_class in (AnonymousAccessToken, CustomerAccessToken, ClientAccessToken)
}


def _own_token_decode(raw_token: str, unverified: dict[str, object]) -> KeyringToken:
    """Verify a token of ours as the bearer kind it names; ``TokenRejected`` for anything else."""
    token_class = _BEARER_KINDS.get(str(unverified.get(CLAIM_TOKEN_TYPE)))
    if token_class is None:
        raise TokenRejected("not one of our bearer kinds")
    return token_decode(token_class, raw_token)


def own_token_verify(raw_token: str) -> KeyringToken:
    """One of our own bearer tokens, verified as the kind it names; ``TokenRejected`` else."""
    try:
        unverified = _unverified_claims(raw_token)
    except DomainError:
        raise TokenRejected("malformed") from None
    if not _is_own(unverified):
        raise TokenRejected("not one of our tokens")
    return _own_token_decode(raw_token, unverified)


def _token_scopes(token: KeyringToken, default: frozenset[str]) -> frozenset[str]:
    if CLAIM_SCOPE not in token.payload:
        return default
    # Unknown scope names mean nothing here; only ours are kept.
    return (scope_parse(token[CLAIM_SCOPE]) or frozenset()) & KNOWN_SCOPES


def own_bearer_from_token(token: KeyringToken) -> VerifiedBearer:
    """What a verified token of ours says about its bearer."""
    common = {
        "tenant_id": token[CLAIM_TENANT],
        "expires_at": int(token["exp"]),
        "issued_at": float(token["iat"]),
        "token_id": str(token["jti"]),
        "oauth_client_id": token.payload.get(CLAIM_CLIENT, ""),
        "grant_id": token.payload.get(CLAIM_GRANT, ""),
        "storefront_app_id": token.payload.get(CLAIM_APP, ""),
        "claims": token.payload,
    }
    if isinstance(token, AnonymousAccessToken):
        return VerifiedBearer(
            kind=PrincipalKind.ANONYMOUS,
            client_id=token[CLAIM_APP],
            subject_id=token["jti"],
            # Only a sales channel's guest token (it names its client) has its own scopes.
            scopes=_token_scopes(token, ANONYMOUS_DEFAULT_SCOPES)
            if CLAIM_CLIENT in token.payload
            else ANONYMOUS_DEFAULT_SCOPES,
            **common,
        )
    if isinstance(token, CustomerAccessToken):
        return VerifiedBearer(
            kind=PrincipalKind.CUSTOMER,
            subject_id=token[CLAIM_SUBJECT],
            scopes=_token_scopes(token, frozenset()),
            **common,
        )
    return VerifiedBearer(
        kind=PrincipalKind.CLIENT,
        client_id=token[CLAIM_CLIENT],
        subject_id=token[CLAIM_CLIENT],
        scopes=_token_scopes(token, frozenset()),
        **common,
    )


def _own_bearer(raw_token: str, unverified: dict[str, object]) -> VerifiedBearer:
    try:
        token = _own_token_decode(raw_token, unverified)
    except TokenRejected as rejected:
        code = errors.TOKEN_EXPIRED if rejected.expired else errors.TOKEN_INVALID
        raise DomainError(code) from None
    return own_bearer_from_token(token)


def _provider_bearer(
    raw_token: str, unverified: dict[str, object], tenant_id: int | None
) -> VerifiedBearer:
    issuer = unverified.get("iss")
    if not isinstance(issuer, str):
        raise DomainError(errors.TOKEN_INVALID)
    try:
        provider = provider_for_issuer(issuer=issuer, tenant_id=tenant_id)
    except AmbiguousIssuer:
        raise DomainError(errors.TENANT_UNDETERMINED) from None
    if provider is None:
        raise DomainError(errors.PROVIDER_UNKNOWN)
    try:
        identity = provider_token_verify(provider, raw_token)
    except ProviderUnavailable:
        raise DomainError(errors.PROVIDER_UNAVAILABLE) from None
    except ProviderTokenRejected as rejected:
        if rejected.id_token:
            raise DomainError(errors.ID_TOKEN_REFUSED) from None
        code = errors.TOKEN_EXPIRED if rejected.expired else errors.TOKEN_INVALID
        raise DomainError(code) from None
    return VerifiedBearer(
        tenant_id=provider.tenant_id,
        kind=PrincipalKind.CUSTOMER,
        expires_at=identity.expires_at,
        token_id=str(identity.claims.get("jti", ""))[:64],
        external=identity,
        scopes=CUSTOMER_SCOPES,
        issued_at=_issued_at(identity.claims.get("iat")),
    )


def _issued_at(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def bearer_verify(raw_token: str, *, tenant_id: int | None) -> VerifiedBearer:
    """Verify a bearer of any kind; a 401 (or 503) ``DomainError`` for anything else.

    ``tenant_id`` scopes provider lookup; without it a provider's issuer must be trusted by
    exactly one tenant.
    """
    unverified = _unverified_claims(raw_token)
    if _is_own(unverified):
        bearer = _own_bearer(raw_token, unverified)
        if tenant_id is not None and bearer.tenant_id != tenant_id:
            raise DomainError(errors.TOKEN_INVALID)
        return bearer
    return _provider_bearer(raw_token, unverified, tenant_id)


def bearer_principal(raw_token: str, *, tenant_id: int | None = None) -> Principal:
    """The caller of a bearer alone. A provider's token signs its customer in (may write)."""
    bearer = bearer_verify(raw_token, tenant_id=tenant_id)
    if bearer.external is not None:
        # A disabled provider or tenant signs nobody in, not even a new customer.
        bearer.refuse_if_revoked()
        return bearer.principal(customer_sign_in(identity=bearer.external))
    return bearer.principal(bearer.subject_id)


def shopper_principal(*, raw_bearer: str, raw_context: str) -> Principal:
    """The shopper of a bearer and the customer context minted for it; no query needed.

    Our own tokens are checked before the context, so that a bad bearer is reported as such;
    a provider's token needs the context's tenant first.
    """
    unverified = _unverified_claims(raw_bearer)
    context: CustomerContext
    if _is_own(unverified):
        bearer = _own_bearer(raw_bearer, unverified)
        if bearer.kind not in SHOPPER_KINDS:
            # No context is ever minted for it: say what is wrong, not "context missing".
            raise DomainError(errors.SHOPPER_REQUIRED)
        context = customer_context_read(raw_context=raw_context, raw_bearer=raw_bearer)
    else:
        context = customer_context_read(raw_context=raw_context, raw_bearer=raw_bearer)
        bearer = _provider_bearer(raw_bearer, unverified, context.tenant_id)
    if (
        context.tenant_id != bearer.tenant_id
        or context.is_anonymous != (bearer.kind is PrincipalKind.ANONYMOUS)
        or context.provider_id != bearer.provider_id
        or (bearer.subject_id and context.subject_id != bearer.subject_id)
    ):
        raise DomainError(errors.CONTEXT_MISMATCH)
    return bearer.principal(context.subject_id)
