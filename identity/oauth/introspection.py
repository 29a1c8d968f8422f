"""RFC 7009 revocation and RFC 7662 introspection of the token service's tokens.

A client revokes only tokens issued to it; anything else (unknown, malformed, another client's)
is answered 200 and changes nothing, so the endpoint tells nobody which tokens exist. Revoking a
refresh token ends its sign-in (the whole family and the access tokens carrying its ``grant``).

Introspection is for confidential clients, within their tenant: the shop's integrations and web
apps see our access tokens of any kind, a third-party app only its own; refresh tokens only the
client they were issued to. Anything else is ``{"active": false}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from core.errors import DomainError
from identity.credentials.refresh import REFRESH_TOKEN_KIND, grant_revoke, refresh_token_find
from identity.credentials.revocation import revocation_add, token_revocation_key
from identity.credentials.secrets import secret_prefix
from identity.credentials.tokens import CLAIM_ACTOR, CLAIM_CUSTOM, TokenRejected
from identity.models import OAuthClient, OAuthClientKind
from identity.sessions.bearer import VerifiedBearer, own_token_verify

INACTIVE: dict[str, Any] = {"active": False}


def _is_refresh_token(raw_token: str) -> bool:
    return secret_prefix(raw_token, kind=REFRESH_TOKEN_KIND) is not None


def _access_bearer(raw_token: str) -> VerifiedBearer | None:
    try:
        return own_token_verify(raw_token)
    except TokenRejected:
        return None


def token_revoke(*, client: OAuthClient, raw_token: str) -> None:
    """Revoke a token issued to ``client``; silently nothing for any other token."""
    if _is_refresh_token(raw_token):
        row = refresh_token_find(raw_token)
        if row is not None and row.grant.client_id == client.pk:
            grant = row.grant
            grant_revoke(
                grant_id=grant.pk,
                public_id=str(grant.public_id),
                expires_at=grant.expires_at,
                reason="revoked by its client",
            )
        return
    bearer = _access_bearer(raw_token)
    if bearer is None or bearer.oauth_client_id != client.client_id:
        return
    revocation_add(
        key=token_revocation_key(bearer.token_id),
        reason="revoked by its client",
        expires_at=datetime.fromtimestamp(bearer.expires_at, UTC),
    )


def token_introspect(*, client: OAuthClient, raw_token: str) -> dict[str, Any]:
    """The RFC 7662 answer for ``raw_token`` as seen by ``client``."""
    if _is_refresh_token(raw_token):
        return _refresh_introspect(client, raw_token)
    bearer = _access_bearer(raw_token)
    if bearer is None or bearer.tenant_id != client.tenant_id:
        return INACTIVE
    if (
        client.kind == OAuthClientKind.THIRD_PARTY_APP
        and bearer.oauth_client_id != client.client_id
    ):
        # Someone else's app learns nothing of the shop's tokens; the shop's own servers do.
        return INACTIVE
    try:
        bearer.refuse_if_revoked(bearer.subject_id)
    except DomainError:
        return INACTIVE
    claims = bearer.claims
    answer: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        "scope": " ".join(sorted(bearer.scopes)),
        "client_id": bearer.oauth_client_id,
        "sub": claims.get("sub"),
        "iss": claims.get("iss"),
        "aud": claims.get("aud"),
        "exp": bearer.expires_at,
        # RFC 7662: an integer.
        "iat": int(bearer.issued_at) if bearer.issued_at is not None else None,
        "jti": bearer.token_id,
        "kind": bearer.principal_kind.value,
    }
    for claim in (CLAIM_ACTOR, CLAIM_CUSTOM):
        if claim in claims:
            answer[claim] = claims[claim]
    return answer


def _refresh_introspect(client: OAuthClient, raw_token: str) -> dict[str, Any]:
    row = refresh_token_find(raw_token)
    if row is None or row.grant.client_id != client.pk:
        return INACTIVE
    grant = row.grant
    now = datetime.now(UTC)
    if (
        row.used_at is not None
        or grant.revoked_at is not None
        or min(row.expires_at, grant.expires_at) <= now
        or not grant.customer.is_active
    ):
        return INACTIVE
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": grant.scope,
        "client_id": client.client_id,
        "sub": str(grant.customer.public_id),
        "iss": settings.TOKEN_ISSUER,
        "exp": int(row.expires_at.timestamp()),
        "iat": int(row.created_at.timestamp()),
        "kind": "customer",
    }
