"""Anonymous access tokens: an anonymous shopper's session, keyed by its anonymous id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from rest_framework_simplejwt.exceptions import TokenError

from core.errors import ErrorCode
from identity import errors
from identity.credentials.kinds.base import BearerToken, VerifiedBearer
from identity.credentials.revocation import anonymous_revocation_key
from identity.credentials.tokens import (
    CLAIM_APP,
    CLAIM_CLIENT,
    CLAIM_SCOPE,
    CLAIM_SUBJECT,
    CLAIM_TENANT,
    KeyringTokenBackend,
    is_database_id,
    is_uuid_string,
    oauth_claims_check,
)
from identity.models import ANONYMOUS_TOKEN_DEFAULT_SECONDS, SigningKeyPurpose
from identity.principal import PrincipalKind
from identity.scopes import ANONYMOUS_DEFAULT_SCOPES


class AnonymousAccessToken(BearerToken):
    """An anonymous shopper's access token: ``jti`` (and ``sub``) is the anonymous id.

    A sales channel's guest token (client_credentials) is one too, with ``client_id`` and
    ``scope``; without them the token holds the anonymous default scopes. Its lifetime is its
    storefront app's. Retiring the anonymous id (a migration to a customer) ends it.
    """

    token_type = "anonymous"
    lifetime = timedelta(seconds=ANONYMOUS_TOKEN_DEFAULT_SECONDS)
    backend = KeyringTokenBackend(purpose=SigningKeyPurpose.ANONYMOUS, typ="at+jwt")
    principal_kind = PrincipalKind.ANONYMOUS

    def verify_claims(self) -> None:
        anonymous_id = self.payload.get("jti")
        if not is_uuid_string(anonymous_id) or self.payload.get(CLAIM_SUBJECT) != anonymous_id:
            raise TokenError("anonymous id is not a UUID")
        if not is_database_id(self.payload.get(CLAIM_TENANT)):
            raise TokenError("tenant claim malformed")
        if not is_uuid_string(self.payload.get(CLAIM_APP)):
            raise TokenError("app claim malformed")
        oauth_claims_check(self.payload, required=False)

    @classmethod
    def issue(
        cls,
        *,
        anonymous_id: str,
        tenant_id: int,
        app_id: str,
        lifetime_seconds: int,
        client_id: str = "",
        scope: str | None = None,
    ) -> AnonymousAccessToken:
        token = cls()
        token.set_exp(lifetime=timedelta(seconds=lifetime_seconds))
        token["jti"] = anonymous_id
        token[CLAIM_SUBJECT] = anonymous_id
        token[CLAIM_TENANT] = tenant_id
        token[CLAIM_APP] = app_id
        if client_id:
            token[CLAIM_CLIENT] = client_id
            token[CLAIM_SCOPE] = scope or ""
        return token

    def bearer_of(self) -> dict[str, Any]:
        return {
            "client_id": self[CLAIM_APP],
            "subject_id": self["jti"],
            # Only a sales channel's guest token (it names its client) has its own scopes.
            "scopes": self.scopes_claimed(ANONYMOUS_DEFAULT_SCOPES)
            if CLAIM_CLIENT in self.payload
            else ANONYMOUS_DEFAULT_SCOPES,
        }

    @classmethod
    def subject_revocation_keys(
        cls, bearer: VerifiedBearer, subject_id: str
    ) -> dict[str, ErrorCode]:
        if not subject_id:
            return {}
        key = anonymous_revocation_key(bearer.tenant_id, subject_id)
        return {key: errors.ANONYMOUS_SESSION_ENDED}


class AnonymousRenewalProof(AnonymousAccessToken):
    """An anonymous token presented to keep its id: accepted up to the renewal window after
    it expired (see README "Anonymous ids")."""

    backend = KeyringTokenBackend(
        purpose=SigningKeyPurpose.ANONYMOUS, typ="at+jwt", verify_exp=False
    )

    def check_exp(self, claim: str = "exp", current_time: Any = None) -> None:
        window = timedelta(seconds=settings.ANONYMOUS_RENEWAL_WINDOW_SECONDS)
        super().check_exp(claim, (current_time or self.current_time) - window)
