"""Customer context tokens: who the shopper is, bound to the bearer they were minted with."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from rest_framework_simplejwt.exceptions import TokenError

from identity.credentials.tokens import (
    CLAIM_BEARER_HASH,
    CLAIM_IS_ANONYMOUS,
    CLAIM_PROVIDER,
    CLAIM_SUBJECT,
    CLAIM_TENANT,
    KeyringToken,
    KeyringTokenBackend,
    is_database_id,
)
from identity.models import SigningKeyPurpose


class CustomerContextToken(KeyringToken):
    """The customer context: who the shopper is, bound to the bearer it was minted with.

    ``ath`` is the base64url SHA-256 of that bearer (as in RFC 9449); ``exp`` is never later
    than the bearer's, nor ``CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS`` away. Never a bearer.
    """

    token_type = "customer_context"
    lifetime = timedelta(seconds=settings.CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS)
    backend = KeyringTokenBackend(purpose=SigningKeyPurpose.CONTEXT, typ="customer-context+jwt")

    def verify_claims(self) -> None:
        if not is_database_id(self.payload.get(CLAIM_TENANT)):
            raise TokenError("tenant claim malformed")
        if not isinstance(self.payload.get(CLAIM_SUBJECT), str):
            raise TokenError("subject claim malformed")
        if type(self.payload.get(CLAIM_IS_ANONYMOUS)) is not bool:
            raise TokenError("isAnonymous claim malformed")
        if not isinstance(self.payload.get(CLAIM_BEARER_HASH), str):
            raise TokenError("bearer hash claim malformed")

    @classmethod
    def issue(
        cls,
        *,
        tenant_id: int,
        subject_id: str,
        is_anonymous: bool,
        bearer_hash: str,
        expires_at: int,
        provider_id: str = "",
    ) -> CustomerContextToken:
        token = cls()
        token.expire_at(expires_at)
        token[CLAIM_TENANT] = tenant_id
        token[CLAIM_SUBJECT] = subject_id
        token[CLAIM_IS_ANONYMOUS] = is_anonymous
        token[CLAIM_BEARER_HASH] = bearer_hash
        if provider_id:
            token[CLAIM_PROVIDER] = provider_id
        return token
