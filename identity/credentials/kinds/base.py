"""What a bearer kind says about its bearer, and how a verified bearer becomes a Principal.

``VerifiedBearer`` is a bearer token whose signature and claims have been verified, of any
kind: one of ours (``BearerToken`` subclasses) or an identity provider's (``provider``). Its
kind says which revocation keys end it and what each revocation tells the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from core.errors import DomainError, ErrorCode
from identity import errors
from identity.credentials.revocation import (
    app_revocation_key,
    client_revocation_key,
    grant_revocation_key,
    revoked_keys,
    tenant_revocation_key,
    token_revocation_key,
)
from identity.credentials.tokens import (
    CLAIM_APP,
    CLAIM_CLIENT,
    CLAIM_GRANT,
    CLAIM_SCOPE,
    CLAIM_TENANT,
    KeyringToken,
)
from identity.principal import Principal, PrincipalKind, Surface
from identity.scopes import KNOWN_SCOPES, scope_parse

# When several revocations end a token, the caller hears the most useful one first: a retired
# anonymous id tells the storefront to re-authenticate.
_REASONS_IN_ORDER = (errors.ANONYMOUS_SESSION_ENDED, errors.CUSTOMER_DEACTIVATED)


class BearerKind:
    """A kind of bearer: which Principal it makes and which revocations end it."""

    principal_kind: ClassVar[PrincipalKind]
    # The one surface whose endpoints take it; every other refuses it with a 401.
    surface: ClassVar[Surface] = Surface.STOREFRONT

    @classmethod
    def subject_revocation_keys(
        cls, bearer: VerifiedBearer, subject_id: str
    ) -> dict[str, ErrorCode]:
        """The revocation keys of the bearer's subject (once known), beyond the ones every
        bearer has; each with what its revocation tells the caller."""
        return {}


@dataclass(frozen=True)
class VerifiedBearer:
    """A bearer token whose signature and claims have been verified."""

    kind: type[BearerKind]
    tenant_id: int
    expires_at: int
    token_id: str = ""
    # The storefront app of an anonymous token; the client of a client token.
    client_id: str = ""
    # The anonymous id, or the customer id when the token itself names the customer.
    subject_id: str = ""
    scopes: frozenset[str] = frozenset()
    # Epoch seconds; None when a provider's token does not say.
    issued_at: float | None = None
    # The token service's client and sign-in the token came from, if it did.
    oauth_client_id: str = ""
    grant_id: str = ""
    # The storefront app the token was issued through (anonymous tokens, and customer tokens
    # of a sales channel): deactivating it ends the token.
    storefront_app_id: str = ""
    # For a provider's token: the provider, and the identity it proves (``ProviderIdentity``
    # of identity.customers.providers), whose customer is found by sign-in or by the context.
    provider_id: str = ""
    external: object | None = field(default=None, compare=False)
    # The verified claims of one of our own tokens.
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def principal_kind(self) -> PrincipalKind:
        return self.kind.principal_kind

    @property
    def surface(self) -> Surface:
        return self.kind.surface

    def revocation_keys(self, subject_id: str | None) -> dict[str, ErrorCode]:
        """What may have been revoked since the token was issued: its tenant, its client,
        sign-in, app or provider, and (once known) its subject; each with what its
        revocation tells the caller."""
        keys = {tenant_revocation_key(self.tenant_id): errors.TOKEN_REVOKED}
        if self.oauth_client_id:
            keys[client_revocation_key(self.oauth_client_id)] = errors.TOKEN_REVOKED
            keys[token_revocation_key(self.token_id)] = errors.TOKEN_REVOKED
        if self.grant_id:
            keys[grant_revocation_key(self.grant_id)] = errors.TOKEN_REVOKED
        if self.storefront_app_id:
            keys[app_revocation_key(self.storefront_app_id)] = errors.TOKEN_REVOKED
        keys.update(self.kind.subject_revocation_keys(self, subject_id or ""))
        return keys

    def refuse_if_revoked(self, subject_id: str | None = None) -> None:
        keys = self.revocation_keys(subject_id)
        revoked = revoked_keys(keys, issued_at=self.issued_at)
        if revoked:
            reasons = {keys[key] for key in revoked}
            raise DomainError(
                next((code for code in _REASONS_IN_ORDER if code in reasons), errors.TOKEN_REVOKED)
            )

    def principal(self, subject_id: str) -> Principal:
        self.refuse_if_revoked(subject_id)
        return Principal(
            tenant_id=self.tenant_id,
            kind=self.principal_kind,
            subject_id=subject_id,
            client_id=self.client_id,
            token_id=self.token_id,
            expires_at=self.expires_at,
            provider_id=self.provider_id,
            scopes=self.scopes,
            oauth_client_id=self.oauth_client_id,
        )


class BearerToken(KeyringToken, BearerKind):
    """One of our own kinds that a request may bear: what its claims say about the bearer."""

    def bearer(self) -> VerifiedBearer:
        """The verified bearer; kinds name their subject, client and scopes (``bearer_of``)."""
        payload = self.payload
        return VerifiedBearer(
            kind=type(self),
            tenant_id=payload[CLAIM_TENANT],
            expires_at=int(payload["exp"]),
            issued_at=self.issued_at(),
            token_id=str(payload["jti"]),
            oauth_client_id=payload.get(CLAIM_CLIENT, ""),
            grant_id=payload.get(CLAIM_GRANT, ""),
            storefront_app_id=payload.get(CLAIM_APP, ""),
            claims=payload,
            **self.bearer_of(),
        )

    def bearer_of(self) -> dict[str, Any]:
        """``subject_id``, ``client_id`` and ``scopes`` of the bearer."""
        raise NotImplementedError

    def issued_at(self) -> float:
        """When the token was issued, in epoch seconds, as precisely as the kind says."""
        return float(self.payload["iat"])

    def scopes_claimed(self, default: frozenset[str]) -> frozenset[str]:
        """The token's ``scope``, or ``default`` without one; unknown names mean nothing."""
        if CLAIM_SCOPE not in self.payload:
            return default
        return (scope_parse(self.payload[CLAIM_SCOPE]) or frozenset()) & KNOWN_SCOPES
