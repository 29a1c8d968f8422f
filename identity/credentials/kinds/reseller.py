"""Reseller tokens: a partner account's token for the Reseller surface (Generate Token)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rest_framework_simplejwt.exceptions import TokenError

from identity.credentials.kinds.base import BearerToken
from identity.credentials.tokens import (
    CLAIM_CLIENT,
    CLAIM_SCOPE,
    CLAIM_SUBJECT,
    CLAIM_TENANT,
    KeyringTokenBackend,
    is_database_id,
    is_token_id,
    oauth_claims_check,
)
from identity.models import SigningKeyPurpose
from identity.principal import PrincipalKind, Surface
from identity.scopes import RESELLER_SCOPES

RESELLER_TYP = "reseller+jwt"


class ResellerAccessToken(BearerToken):
    """A partner's token (``POST /reseller/token``, or client_credentials of a reseller
    client at /oauth/token): ``sub`` = ``client_id`` = the partner, its tenant and scopes.

    HS256 with the keyring's ``reseller`` keys, ``typ`` ``reseller+jwt`` and ``token_type``
    ``reseller_access``: no other decoder takes it, and it is good on the Reseller surface only.
    No refresh token: the partner asks again. Deactivating the partner (its client), or
    revoking the token, ends it at once (the revocation cache, no query).
    """

    token_type = "reseller_access"
    lifetime = timedelta(seconds=900)
    backend = KeyringTokenBackend(purpose=SigningKeyPurpose.RESELLER, typ=RESELLER_TYP)
    principal_kind = PrincipalKind.PARTNER
    surface = Surface.RESELLER

    def verify_claims(self) -> None:
        if not is_token_id(self.payload.get("jti")):
            raise TokenError("jti claim malformed")
        if not is_database_id(self.payload.get(CLAIM_TENANT)):
            raise TokenError("tenant claim malformed")
        oauth_claims_check(self.payload, required=True)
        if self.payload.get(CLAIM_SUBJECT) != self.payload[CLAIM_CLIENT]:
            raise TokenError("subject is not the partner")

    @classmethod
    def issue(
        cls, *, client_id: str, tenant_id: int, scope: str, lifetime_seconds: int
    ) -> ResellerAccessToken:
        token = cls()
        token.set_exp(lifetime=timedelta(seconds=lifetime_seconds))
        token[CLAIM_SUBJECT] = client_id
        token[CLAIM_TENANT] = tenant_id
        token[CLAIM_CLIENT] = client_id
        token[CLAIM_SCOPE] = scope
        return token

    def bearer_of(self) -> dict[str, Any]:
        client_id = self[CLAIM_CLIENT]
        return {
            "client_id": client_id,
            "subject_id": client_id,
            # Only reseller scopes mean anything here, whatever else a token might claim.
            "scopes": self.scopes_claimed(frozenset()) & RESELLER_SCOPES,
        }
