"""Helpers and fixtures of the current-customer token tests (test_current_customer_jwt,
test_current_customer_jwt_refusals)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.customers.accounts import local_account_create
from identity.models import Customer
from tests.conftest import Storefront, problem
from tests.identity.oauth_helpers import (
    Client,
    customer_headers,
    password_tokens,
)

URL = "/customer/current.jwt"
EXAMPLE_PATH = Path(settings.BASE_DIR) / "docs" / "examples" / "loyalty_points.py"
LIFETIME_SECONDS = 900
BOB_EMAIL = "bob@example.com"
BOB_PASSWORD = "a different long passphrase"
APP_UNKNOWN = problem(
    "third_party_app_unknown",
    "Unknown app",
    404,
    "app_client_id names no active third-party app of this shop.",
    2071,
)
CREDENTIALS_MISSING = problem(
    "credentials_missing",
    "Authentication required",
    401,
    "Authentication credentials were not provided.",
    2000,
)
NO_CURRENT_CUSTOMER = problem(
    "no_current_customer",
    "No signed-in customer",
    404,
    "The shopper is anonymous: there is no current customer to name.",
    2072,
)


def load_example() -> ModuleType:
    """docs/examples/loyalty_points.py, imported from its path (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("loyalty_points_example", EXAMPLE_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


def kid_of(secret: str) -> str:
    """A client secret reads ``cs_<prefix>_<random>``; the prefix is the token's ``kid``."""
    return secret.split("_")[1]


def verify(token: str, app: Client, secret: str | None = None) -> dict[str, Any]:
    """The token's claims, verified as the app would: HS256, its secret, its id as ``aud``."""
    return jwt.decode(
        token,
        secret or app.secret,
        algorithms=["HS256"],
        audience=app.client_id,
        issuer=settings.TOKEN_ISSUER,
        options={"require": ["exp", "iat", "aud", "iss", "jti"]},
    )


def current_jwt(api: APIClient, headers: dict[str, str], app_client_id: str, **extra: str) -> Any:
    return api.get(URL, {"app_client_id": app_client_id}, **headers, **extra)


def token_for(api: APIClient, headers: dict[str, str], app: Client) -> str:
    answer = current_jwt(api, headers, app.client_id)
    assert answer.status_code == 200, answer.content
    return answer.content.decode()


@pytest.fixture
def ada_headers(api: APIClient, sales_channel: Client, customer: Customer) -> dict[str, str]:
    return customer_headers(api, password_tokens(api, sales_channel)["access_token"])


@pytest.fixture
def bob(storefront: Storefront) -> Customer:
    return local_account_create(
        tenant=storefront.tenant, email=BOB_EMAIL, password=BOB_PASSWORD, name="Bob"
    )


@pytest.fixture
def bob_headers(api: APIClient, sales_channel: Client, bob: Customer) -> dict[str, str]:
    tokens = password_tokens(api, sales_channel, BOB_EMAIL, BOB_PASSWORD)
    return customer_headers(api, tokens["access_token"])
