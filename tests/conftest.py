"""Shared fixtures: a tenant with a storefront key, products, and a shopper with real tokens;
and what every suite asserts with: problem documents and a snapshot of the tables.

The fixtures of tests/identity/provider_fixtures.py (customers of a static-key provider),
tests/identity/jwks_server.py (providers on loopback), tests/identity/oauth_helpers.py (the
token service's clients and customers) and tests/carts/migration_fixtures.py (a larger
catalog) are registered here for every test module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from carts.models import Cart, CartLine, CartMigration
from catalog.models import Product
from core.models import IdempotencyRecord
from identity.credentials.keyring import keyring_clear_cache, signing_key_create
from identity.models import (
    Customer,
    Revocation,
    SigningKey,
    SigningKeyPurpose,
    StorefrontApp,
    Tenant,
)
from identity.tenancy.storefront import storefront_key_create
from orders.models import Order, OrderLine, OrderNumberCounter, OrderStatusChange
from tests.factories import ProductFactory, StorefrontAppFactory, TenantFactory

pytest_plugins = (
    "tests.identity.provider_fixtures",
    "tests.identity.jwks_server",
    "tests.carts.migration_fixtures",
    "tests.identity.oauth_helpers",
    "tests.identity.reseller_helpers",
    # The fixtures of suites split into several modules by behaviour.
    "tests.carts.cart_api_common",
    "tests.identity.current_customer_common",
    "tests.identity.customer_tokens_common",
    "tests.identity.oauth_revocation_common",
    "tests.identity.oauth_token_common",
    "tests.identity.oauth_token_attacks_common",
    "tests.orders.order_fixtures",
    "tests.identity.api_keys_common",
)

PROBLEM_CONTENT_TYPE = "application/problem+json"


@pytest.fixture(autouse=True)
def _fresh_process_state(request: pytest.FixtureRequest) -> Any:
    """Each test starts with an empty cache and a keyring read from its own database.

    Transactional tests flush the tables, taking the migration's signing keys with them, so the
    keys are recreated when missing.
    """
    cache.clear()
    keyring_clear_cache()
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("_ensure_signing_keys")
    yield
    cache.clear()
    keyring_clear_cache()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """Tests hash passwords with a fast hasher; the benchmark measures the production one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def _ensure_signing_keys(django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        for purpose in SigningKeyPurpose.values:
            if not SigningKey.objects.filter(purpose=purpose, is_active=True).exists():
                signing_key_create(purpose=purpose)


@dataclass
class Storefront:
    tenant: Tenant
    app: StorefrontApp
    key: str


def make_storefront(**app_fields: Any) -> Storefront:
    app = StorefrontAppFactory(**app_fields)
    return Storefront(tenant=app.tenant, app=app, key=storefront_key_create(app=app).value)


@pytest.fixture
def storefront(db: None) -> Storefront:
    return make_storefront(tenant=TenantFactory(slug="acme"))


@pytest.fixture
def other_storefront(db: None) -> Storefront:
    """A storefront of a second tenant, globex."""
    return make_storefront(tenant=TenantFactory(slug="globex"))


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def products(storefront: Storefront) -> dict[str, Any]:
    """A small catalog: unlimited, limited stock, per-order maximum, inactive."""
    tenant = storefront.tenant
    return {
        "mug": ProductFactory(tenant=tenant, sku="MUG", unit_price="9.50"),
        "cap": ProductFactory(tenant=tenant, sku="CAP", unit_price="24.00", stock=3),
        "tee": ProductFactory(
            tenant=tenant, sku="TEE", unit_price="19.90", max_quantity_per_order=5
        ),
        "old": ProductFactory(tenant=tenant, sku="OLD", is_active=False),
    }


def bearer_headers(raw_bearer: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw_bearer}"}


def shopper_headers(raw_bearer: str, raw_context: str) -> dict[str, str]:
    """A bearer and the customer context minted for it, as every cart call sends them."""
    return {**bearer_headers(raw_bearer), "HTTP_X_CUSTOMER_CONTEXT": raw_context}


@dataclass
class Shopper:
    """An anonymous shopper holding a real token and its context."""

    token: str
    context: str
    anonymous_id: str

    def headers(self) -> dict[str, str]:
        return shopper_headers(self.token, self.context)


def anonymous_shopper(api: APIClient, key: str, **body: Any) -> Shopper:
    answer = api.post(
        "/commerceapi/authentication/", body or None, format="json", HTTP_X_AUTH_KEY=key
    )
    assert answer.status_code == 200, answer.content
    return anonymous_shopper_from(api, answer.json()["accessToken"], answer.json()["anonymousId"])


def anonymous_shopper_from(api: APIClient, token: str, anonymous_id: str) -> Shopper:
    """The shopper holding ``token``, with the customer context minted for it."""
    context = api.get("/commerceapi/authentication/customercontext", **bearer_headers(token))
    assert context.status_code == 200, context.content
    return Shopper(token, context.json()["customerContext"], anonymous_id)


@pytest.fixture
def shopper(api: APIClient, storefront: Storefront) -> Shopper:
    return anonymous_shopper(api, storefront.key)


@pytest.fixture
def carted(api: APIClient, shopper: Shopper, products: dict[str, Any]) -> Shopper:
    """The shopper with a MUG in its cart, so that a refused change has something to change."""
    response = api.post(
        "/commerceapi/cart/lines", {"sku": "MUG", "quantity": 1}, format="json", **shopper.headers()
    )
    assert response.status_code == 200, response.content
    assert response.json()["itemCount"] == 1
    return shopper


@pytest.fixture
def operator_user(django_user_model: Any) -> Any:
    """The operators' superuser."""
    return django_user_model.objects.create_superuser(
        username="operator", email="ops@example.com", password="a long passphrase 123"
    )


@pytest.fixture
def operator(client: Client, operator_user: Any) -> Client:
    """An operator signed in to the admin."""
    client.force_login(operator_user)
    return client


# --- Answers --------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """A timestamp as the API writes it (UTC with ``Z``), or None."""
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def problem(
    slug: str,
    title: str,
    status: int,
    detail: str,
    code: int,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A whole problem document; ``errors`` only where the answer names fields."""
    body: dict[str, Any] = {
        "type": f"urn:commerceapi:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return body


# A header of 100 KB is past the request limits: the API refuses it before any decoder sees it.
HEADERS_TOO_LARGE = problem(
    "headers_too_large",
    "Request headers too large",
    431,
    "A request header, or all of them together, exceed the limit.",
    1031,
)
OVER_THE_HEADER_LIMIT = {"header-of-100-kb", "token-of-100-kb-of-dots"}


def field_error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


def validation_problem(*errors: tuple[str, str, str]) -> dict[str, Any]:
    """The 400 of invalid input, naming each ``(field, code, message)``."""
    return problem(
        "validation_failed",
        "Invalid input",
        400,
        "One or more fields are invalid; see errors[].",
        1000,
        [field_error(*error) for error in errors],
    )


def assert_problem(answer: Any, body: dict[str, Any]) -> None:
    """The answer is exactly the problem document ``body``, with its status."""
    assert answer.status_code == body["status"], answer.content
    assert answer["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert answer.json() == body


# --- State ----------------------------------------------------------------------------------

SNAPSHOT_MODELS = (
    Cart,
    CartLine,
    CartMigration,
    Product,
    Revocation,
    SigningKey,
    Customer,
    Order,
    OrderLine,
    OrderStatusChange,
    OrderNumberCounter,
    IdempotencyRecord,
)


def tables_snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row a shopper's request could change: carts, lines, migrations, the catalog, token
    state, customers, orders and idempotency records, keyed by model label (``"carts.Cart"``)."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values()) for model in SNAPSHOT_MODELS
    }


def run_command(*args: str) -> str:
    """Run a management command; what it printed on stdout."""
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


POSTGRES_ONLY_REASON = (
    "needs PostgreSQL: SQLite serialises writers (one write transaction at a time) and has no "
    "row locks (SELECT ... FOR UPDATE), so a race on it proves nothing about the locking"
)


REDIS_ONLY_REASON = "needs a Redis: set REDIS_URL (CI runs these with its Redis)"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.postgres`` tests run on PostgreSQL only, ``@pytest.mark.redis`` ones with
    a Redis only (CI runs both)."""
    from django.conf import settings
    from django.db import connection

    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip(POSTGRES_ONLY_REASON)
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        pytest.skip(REDIS_ONLY_REASON)
