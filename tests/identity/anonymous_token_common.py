"""Helpers of the anonymous token tests (test_anonymous_token, test_anonymous_ids): issuing
a token, with or without a requested id and its proof."""

from __future__ import annotations

import re
import uuid
from typing import Any

import jwt
from django.apps import apps
from django.conf import settings
from rest_framework.test import APIClient

from carts.models import Cart
from identity.credentials.encryption import secret_decrypt
from identity.models import SigningKey
from tests.conftest import (
    Storefront,
)
from tests.identity.tokens_helpers import (
    b64url_decode,
)

URL = "/commerceapi/authentication/"
WRITE_STATEMENT = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def issue(api: APIClient, key: str | None, body: Any = None, **headers: Any) -> Any:
    if key is not None:
        headers["HTTP_X_AUTH_KEY"] = key
    return api.post(URL, body, format="json", **headers)


def requested(anonymous_id: str) -> dict[str, str]:
    return {"anonymousAuthenticationRequest": anonymous_id}


def verified(token: str, *, verify_exp: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of one of our tokens, its signature checked with the stored key."""
    header = jwt.get_unverified_header(token)
    row = SigningKey.objects.get(kid=header["kid"])
    claims = jwt.decode(
        token,
        b64url_decode(secret_decrypt(row.encrypted_secret)),
        algorithms=["HS256"],
        audience=settings.TOKEN_AUDIENCE,
        issuer=settings.TOKEN_ISSUER,
        options={"verify_exp": verify_exp},
    )
    return header, claims


def open_cart(storefront: Storefront, anonymous_id: str) -> Cart:
    return Cart.objects.create(tenant=storefront.tenant, anonymous_id=anonymous_id)


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def is_uuid4(value: str) -> bool:
    return str(uuid.UUID(value)) == value and uuid.UUID(value).version == 4


def _migrated_to_a_customer(storefront: Storefront, anonymous_id: str) -> None:
    Cart.objects.create(
        tenant=storefront.tenant, anonymous_id=anonymous_id, customer_id=uuid.uuid4()
    )
