"""Helpers of the customer context tests (test_customer_context,
test_customer_context_attacks): contexts and bearers forged from real keys."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from identity.models import SigningKeyPurpose
from tests.conftest import (
    shopper_headers,
)
from tests.identity.tokens_helpers import (
    CART_URL,
    RealKey,
    assert_refused_unchanged,
    assert_unauthorized,
    segments,
    sign,
)

CONTEXT = SigningKeyPurpose.CONTEXT


def cart_of(api: APIClient, raw_bearer: str, raw_context: str) -> Any:
    return api.get(CART_URL, **shopper_headers(raw_bearer, raw_context))


def assert_context_refused(api: APIClient, raw_bearer: str, raw_context: str, code: int) -> None:
    """Reading and changing the cart with this pair are 401 ``code``; nothing changes."""
    assert_unauthorized(cart_of(api, raw_bearer, raw_context), code)
    assert_refused_unchanged(api, shopper_headers(raw_bearer, raw_context), code)


def resigned(raw_context: str, key: RealKey | None = None, **claim_changes: Any) -> str:
    """``raw_context`` with changed claims, signed again with the real context key."""
    _, claims, _ = segments(raw_context)
    return sign({**claims, **claim_changes}, purpose=CONTEXT, key=key)
