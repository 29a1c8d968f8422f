"""Helpers of the OAuth client tests (test_oauth_clients, test_oauth_client_commands)."""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from rest_framework.test import APIClient

from identity.models import (
    OAuthClient,
    OAuthClientSecret,
    Revocation,
)
from tests.identity.oauth_helpers import (
    token_request,
)

CART_URL = "/commerceapi/cart"
CLIENT_ID = re.compile(r"^ci_[0-9a-f]{20}$")
CLIENT_SECRET = re.compile(r"^cs_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$")
CLIENT_AUTHENTICATION_FAILED = {
    "error": "invalid_client",
    "error_description": "Client authentication failed.",
}


def client_rows() -> dict[str, list[dict[str, Any]]]:
    return {
        "clients": list(OAuthClient.objects.order_by("pk").values()),
        "secrets": list(OAuthClientSecret.objects.order_by("pk").values()),
        "revocations": list(Revocation.objects.order_by("pk").values()),
    }


def authenticates(api: APIClient, client_id: str, secret: str) -> Any:
    """A client_credentials request with ``client_secret_post``."""
    return token_request(
        api, grant_type="client_credentials", client_id=client_id, client_secret=secret
    )


def assert_invalid_client(answer: Any) -> None:
    assert answer.status_code == 401, answer.content
    assert answer.json() == CLIENT_AUTHENTICATION_FAILED
    assert answer["WWW-Authenticate"] == 'Basic realm="commerceapi"'
    assert answer["Cache-Control"] == "no-store"


def printed(output: str) -> dict[str, str]:
    """The ``name=value`` lines a command printed (comments left out)."""
    return dict(
        line.split("=", 1) for line in output.splitlines() if line and not line.startswith("#")
    )


def _database_text() -> str:
    """Every row of every model, as text."""
    return "\n".join(
        repr(list(model.objects.values()))
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    )
