"""Client access tokens: a confidential client's own token (client_credentials), and what it shares
with the other tokens whose subject is their client (reseller tokens)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Self

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
from identity.principal import PrincipalKind


class ClientSubjectToken(BearerToken):
    """A token whose subject is the client it was issued to: ``sub`` = ``client_id``, its
    tenant and scopes. Deactivating the client, or revoking the token, ends it."""

    def verify_claims(self) -> None:
        if not is_token_id(self.payload.get("jti")):
            raise TokenError("jti claim malformed")
        if not is_database_id(self.payload.get(CLAIM_TENANT)):
            raise TokenError("tenant claim malformed")
        oauth_claims_check(self.payload, required=True)
        if self.payload.get(CLAIM_SUBJECT) != self.payload[CLAIM_CLIENT]:
            raise TokenError("subject is not the client")

    @classmethod
    def issue(cls, *, client_id: str, tenant_id: int, scope: str, lifetime_seconds: int) -> Self:
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
            "scopes": self.scopes_claimed(frozenset()),
        }


class ClientAccessToken(ClientSubjectToken):
    """A confidential client's own token (client_credentials). Its lifetime is the client's."""

    token_type = "client_access"
    lifetime = timedelta(seconds=900)
    backend = KeyringTokenBackend(purpose=SigningKeyPurpose.ACCESS, typ="at+jwt")
    principal_kind = PrincipalKind.CLIENT
