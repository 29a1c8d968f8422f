"""Helpers of the attacks on our own JWTs (test_token_attacks, test_token_claim_attacks)."""

from __future__ import annotations

import string
from typing import Any

from rest_framework.test import APIClient

from tests.conftest import (
    bearer_headers,
    shopper_headers,
)
from tests.identity.tokens_helpers import (
    CART_URL,
    CONTEXT_URL,
    assert_refused_unchanged,
    assert_unauthorized,
)

BASE64URL_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def context_of(api: APIClient, raw_bearer: str) -> Any:
    return api.get(CONTEXT_URL, **bearer_headers(raw_bearer))


def assert_refused_everywhere(api: APIClient, raw_bearer: str, raw_context: str, code: int) -> None:
    """The bearer is a 401 ``code`` alone, with the context, and on a change; nothing changes."""
    assert_unauthorized(context_of(api, raw_bearer), code)
    assert_unauthorized(api.get(CART_URL, **shopper_headers(raw_bearer, raw_context)), code)
    assert_refused_unchanged(api, shopper_headers(raw_bearer, raw_context), code)
