"""Helpers and fixtures of the /oauth/token tests (test_oauth_client_authentication,
test_oauth_token, test_oauth_password, test_oauth_refresh)."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from identity.models import (
    OAuthGrant,
    RefreshToken,
)
from tests.conftest import tables_snapshot
from tests.identity.oauth_helpers import (
    Client,
    token_request,
)

TOKEN_URL = "/oauth/token"
CART_URL = "/commerceapi/cart"
LINES_URL = "/commerceapi/cart/lines"
CONTEXT_URL = "/commerceapi/authentication/customercontext"
PRODUCTS_URL = "/commerceapi/products"
GUEST_SCOPE = "cart:read cart:write catalog:read customers:create"
CUSTOMER_SCOPE = "cart:read cart:write catalog:read customer:read"
CLIENT_AUTHENTICATION_FAILED = {
    "error": "invalid_client",
    "error_description": "Client authentication failed.",
}
WRONG_PASSWORD = {"error": "invalid_grant", "error_description": "The e-mail or password is wrong."}
LOCKED = {
    "error": "invalid_grant",
    "error_description": "Too many failed sign-ins for this e-mail; try again later.",
}
INVALID_REFRESH_TOKEN = {
    "error": "invalid_grant",
    "error_description": "The refresh token is invalid.",
}
# --- Helpers ----------------------------------------------------------------------------------


def assert_no_store(answer: Any) -> None:
    assert answer["Cache-Control"] == "no-store"
    assert answer["Pragma"] == "no-cache"


def assert_oauth_error(answer: Any, status: int, body: dict[str, str]) -> None:
    """The answer is exactly the RFC 6749 error ``body``, never cached; a 401 names Basic."""
    assert answer.status_code == status, answer.content
    assert answer.json() == body
    assert_no_store(answer)
    if status == 401:
        assert answer["WWW-Authenticate"] == 'Basic realm="commerceapi"'
    else:
        assert not answer.has_header("WWW-Authenticate")


def assert_error_code(answer: Any, status: int, error: str) -> None:
    """The status and ``error`` code, for answers whose description is not the point."""
    assert answer.status_code == status, answer.content
    assert set(answer.json()) == {"error", "error_description"}
    assert answer.json()["error"] == error
    assert_no_store(answer)


def claims_of(raw_token: str) -> dict[str, Any]:
    """The payload of one of our tokens (its signature is checked by the API calls)."""
    return jwt.decode(raw_token, options={"verify_signature": False})


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}


def refresh(api: APIClient, client: Client, refresh_token: str, **form: str) -> Any:
    return token_request(
        api,
        grant_type="refresh_token",
        client_id=client.client_id,
        refresh_token=refresh_token,
        **form,
    )


def sign_in(api: APIClient, client: Client, email: str, password: str, **headers: str) -> Any:
    return token_request(
        api,
        headers,
        grant_type="password",
        client_id=client.client_id,
        username=email,
        password=password,
    )


def token_state() -> dict[str, list[dict[str, Any]]]:
    """The tables plus the token service's own rows."""
    return {
        **tables_snapshot(),
        "grants": list(OAuthGrant.objects.order_by("pk").values()),
        "refresh_tokens": list(RefreshToken.objects.order_by("pk").values()),
    }


def row_of(raw_refresh_token: str) -> RefreshToken:
    return RefreshToken.objects.get(prefix=raw_refresh_token.split("_")[1])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Moves ``django.utils.timezone.now`` forward (the database timestamps of refresh tokens
    and sign-ins); access tokens keep the real clock."""
    offset = {"seconds": 0}
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(seconds=offset["seconds"]))

    def advance(seconds: int) -> None:
        offset["seconds"] += seconds

    return advance
