"""Customer access tokens of the token service (password, refresh, token exchange)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rest_framework_simplejwt.exceptions import TokenError

from core.errors import ErrorCode
from identity import errors
from identity.credentials.kinds.base import BearerToken, VerifiedBearer
from identity.credentials.revocation import customer_revocation_key, signout_revocation_key
from identity.credentials.tokens import (
    CLAIM_ACTOR,
    CLAIM_APP,
    CLAIM_CLIENT,
    CLAIM_CUSTOM,
    CLAIM_GRANT,
    CLAIM_ISSUED_AT_MS,
    CLAIM_SCOPE,
    CLAIM_SUBJECT,
    CLAIM_TENANT,
    KeyringTokenBackend,
    is_database_id,
    is_token_id,
    is_uuid_string,
    oauth_claims_check,
)
from identity.models import SigningKeyPurpose
from identity.principal import PrincipalKind

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def customer_revocation_keys(customer_id: str) -> dict[str, ErrorCode]:
    """A customer's revocations: deactivation, and signing out everywhere."""
    if not customer_id:
        return {}
    return {
        customer_revocation_key(customer_id): errors.CUSTOMER_DEACTIVATED,
        signout_revocation_key(customer_id): errors.TOKEN_REVOKED,
    }


class CustomerAccessToken(BearerToken):
    """A customer's access token from the token service (password, refresh, token exchange).

    ``sub`` is the customer's public id; ``client_id`` the client it was issued to (and ``app``
    its storefront app, for a sales channel); ``scope``
    what it allows; ``grant`` the sign-in it belongs to (absent for a token exchanged from a
    customer id); ``act`` the client acting for the customer (token exchange); custom claims
    under ``CLAIM_CUSTOM``. Its lifetime is its client's.
    """

    token_type = "customer_access"
    lifetime = timedelta(seconds=900)
    backend = KeyringTokenBackend(purpose=SigningKeyPurpose.ACCESS, typ="at+jwt")
    principal_kind = PrincipalKind.CUSTOMER

    def set_iat(self, claim: str = "iat", at_time: datetime | None = None) -> None:
        # ``iat`` an integer NumericDate (RFC 7519; verifiers such as Authlib refuse a fraction
        # above their own clock as "issued in the future"), the millisecond in ``iat_ms``.
        moment = at_time or self.current_time
        milliseconds = (moment - _EPOCH) // timedelta(milliseconds=1)
        self.payload[claim] = milliseconds // 1000
        self.payload[CLAIM_ISSUED_AT_MS] = milliseconds

    def issued_at(self) -> float:
        return int(self.payload[CLAIM_ISSUED_AT_MS]) / 1000

    def verify_claims(self) -> None:
        if not is_uuid_string(self.payload.get(CLAIM_SUBJECT)):
            raise TokenError("subject claim malformed")
        if not is_token_id(self.payload.get("jti")):
            raise TokenError("jti claim malformed")
        if not is_database_id(self.payload.get(CLAIM_TENANT)):
            raise TokenError("tenant claim malformed")
        issued_ms = self.payload.get(CLAIM_ISSUED_AT_MS)
        if type(issued_ms) is not int or issued_ms // 1000 != self.payload.get("iat"):
            raise TokenError("iat_ms claim malformed")
        oauth_claims_check(self.payload, required=True)
        if CLAIM_APP in self.payload and not is_uuid_string(self.payload[CLAIM_APP]):
            raise TokenError("app claim malformed")
        if CLAIM_CUSTOM in self.payload and not isinstance(self.payload[CLAIM_CUSTOM], dict):
            raise TokenError("custom claims malformed")

    @classmethod
    def issue(
        cls,
        *,
        customer_id: str,
        tenant_id: int,
        client_id: str,
        scope: str,
        lifetime_seconds: int,
        app_id: str = "",
        grant_id: str = "",
        actor: dict[str, Any] | None = None,
        custom_claims: dict[str, Any] | None = None,
        not_after: int | None = None,
    ) -> CustomerAccessToken:
        """A new token; it expires after ``lifetime_seconds``, or at ``not_after`` if sooner."""
        token = cls()
        expires_at = int(token.current_time.timestamp()) + lifetime_seconds
        if not_after is not None:
            expires_at = min(expires_at, not_after)
        token.expire_at(expires_at)
        token[CLAIM_SUBJECT] = customer_id
        token[CLAIM_TENANT] = tenant_id
        token[CLAIM_CLIENT] = client_id
        token[CLAIM_SCOPE] = scope
        if app_id:
            token[CLAIM_APP] = app_id
        if grant_id:
            token[CLAIM_GRANT] = grant_id
        if actor is not None:
            token[CLAIM_ACTOR] = actor
        if custom_claims is not None:
            token[CLAIM_CUSTOM] = custom_claims
        return token

    def bearer_of(self) -> dict[str, Any]:
        return {"subject_id": self[CLAIM_SUBJECT], "scopes": self.scopes_claimed(frozenset())}

    @classmethod
    def subject_revocation_keys(
        cls, bearer: VerifiedBearer, subject_id: str
    ) -> dict[str, ErrorCode]:
        return customer_revocation_keys(subject_id)
