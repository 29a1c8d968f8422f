"""Current-customer tokens: a short JWT that tells a third-party app which shopper calls it.

The storefront fetches one for the signed-in shopper and passes it to the app, which verifies it
with its own client secret (HS256), its client id as ``aud`` and ``operation`` =
``current_customer`` (see docs/third-party-apps.md). The header's ``kid`` names the secret (its
lookup prefix). During a rotation the oldest live secret keeps signing until its overlap ends,
so the app has the whole overlap to deploy the new one; a rotation without overlap switches at
once.
"""

from __future__ import annotations

import secrets
import time

import jwt
from django.conf import settings

from identity.credentials.encryption import secret_decrypt
from identity.credentials.tokens import CLIENT_ID_FORMAT
from identity.models import Customer, OAuthClient, OAuthClientKind, OAuthClientSecret
from identity.tenancy.client_records import client_live_secrets

OPERATION = "current_customer"


def third_party_app_get(*, tenant_id: int, client_id: str) -> OAuthClient | None:
    """An active third-party app of the tenant that can sign (has a live secret)."""
    if not CLIENT_ID_FORMAT.fullmatch(client_id):
        return None
    return OAuthClient.objects.filter(
        client_id=client_id,
        tenant_id=tenant_id,
        kind=OAuthClientKind.THIRD_PARTY_APP,
        is_active=True,
        tenant__is_active=True,
    ).first()


def current_customer_signing_secret(app: OAuthClient) -> OAuthClientSecret | None:
    """The secret that signs the app's tokens now: the oldest live one."""
    live = [row for row in client_live_secrets(app) if row.encrypted_signing_secret]
    return live[-1] if live else None


def current_customer_token(*, app: OAuthClient, customer: Customer) -> str | None:
    """The signed token, or None when the app has no live secret to sign with."""
    signing = current_customer_signing_secret(app)
    if signing is None:
        return None
    now = int(time.time())
    claims = {
        "iss": settings.TOKEN_ISSUER,
        "aud": app.client_id,
        "iat": now,
        "exp": now + settings.CURRENT_CUSTOMER_TOKEN_SECONDS,
        "jti": secrets.token_urlsafe(16),
        "operation": OPERATION,
        "tenant": customer.tenant.slug,
        "customer": {
            "id": str(customer.public_id),
            "email": customer.email,
            "group": customer.group,
        },
    }
    return jwt.encode(
        claims,
        secret_decrypt(signing.encrypted_signing_secret),
        algorithm="HS256",
        headers={"kid": signing.prefix, "typ": "JWT"},
    )
