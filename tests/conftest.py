"""Shared fixtures: a tenant with a storefront key, products, and a shopper with real tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from identity.keyring import keyring_clear_cache, signing_key_create
from identity.models import SigningKey, SigningKeyPurpose, StorefrontApp, Tenant
from identity.storefront import storefront_key_create
from tests.factories import ProductFactory, StorefrontAppFactory, TenantFactory


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


@pytest.fixture
def _ensure_signing_keys(django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        for purpose in SigningKeyPurpose.values:
            if not SigningKey.objects.filter(purpose=purpose, is_active=True).exists():
                signing_key_create(purpose=purpose, algorithm="HS256")


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


@dataclass
class Shopper:
    """An anonymous shopper holding a real token and its context."""

    token: str
    context: str
    anonymous_id: str

    def headers(self) -> dict[str, str]:
        return {
            "HTTP_AUTHORIZATION": f"Bearer {self.token}",
            "HTTP_X_CUSTOMER_CONTEXT": self.context,
        }


def anonymous_shopper(api: APIClient, key: str, **body: Any) -> Shopper:
    answer = api.post(
        "/commerceapi/authentication/", body or None, format="json", HTTP_X_AUTH_KEY=key
    )
    assert answer.status_code == 200, answer.content
    token = answer.json()["accessToken"]
    context = api.get(
        "/commerceapi/authentication/customercontext", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert context.status_code == 200, context.content
    return Shopper(token, context.json()["customerContext"], answer.json()["anonymousId"])


@pytest.fixture
def shopper(api: APIClient, storefront: Storefront) -> Shopper:
    return anonymous_shopper(api, storefront.key)


POSTGRES_ONLY_REASON = (
    "needs PostgreSQL: SQLite serialises writers (one write transaction at a time) and has no "
    "row locks (SELECT ... FOR UPDATE), so a race on it proves nothing about the locking"
)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.postgres`` tests run on PostgreSQL only (CI runs them there)."""
    from django.db import connection

    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip(POSTGRES_ONLY_REASON)
