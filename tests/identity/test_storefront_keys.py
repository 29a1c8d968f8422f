"""Tenants, storefront apps and X-Auth-Keys: provisioning commands and how keys are stored."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from identity.credentials.secrets import secret_prefix
from identity.models import StorefrontApp, StorefrontKey, Tenant
from identity.tenancy.storefront import (
    _KEY_CACHE_PREFIX,
    STOREFRONT_KEY_KIND,
    storefront_app_save,
    storefront_key_create,
    storefront_key_resolve,
    tenant_save,
)
from tests.conftest import (
    Shopper,
    anonymous_shopper,
    bearer_headers,
    make_storefront,
    run_command,
)
from tests.factories import StorefrontAppFactory, TenantFactory

KEY_FORMAT = re.compile(r"^sfk_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")


def issue(key: str) -> int:
    return APIClient().post("/commerceapi/authentication/", HTTP_X_AUTH_KEY=key).status_code


# --- tenant_create --------------------------------------------------------------------------


def test_tenant_create_creates_the_tenant(db):
    # when
    out = run_command("tenant_create", "shop-1", "--name", "Shop One", "--currency", "SEK")

    # then
    tenant = Tenant.objects.get(slug="shop-1")
    assert (tenant.name, tenant.currency, tenant.is_active) == ("Shop One", "SEK", True)
    assert out == "created tenant shop-1 (SEK)\n"


def test_tenant_create_defaults_name_and_currency(db):
    # when
    run_command("tenant_create", "shop-2")

    # then
    tenant = Tenant.objects.get(slug="shop-2")
    assert (tenant.name, tenant.currency) == ("shop-2", "EUR")


def test_tenant_create_refuses_a_duplicate(db):
    # given
    run_command("tenant_create", "shop-1")

    # when / then
    with pytest.raises(CommandError, match="exists already"):
        run_command("tenant_create", "shop-1")
    assert Tenant.objects.filter(slug="shop-1").count() == 1


@pytest.mark.parametrize(
    "args",
    [["not a slug"], ["shop-3", "--currency", "euro"], ["shop-3", "--currency", "eur"]],
    ids=["slug", "currency-word", "currency-lowercase"],
)
def test_tenant_create_refuses_invalid_values(db, args):
    # when / then
    with pytest.raises(CommandError):
        run_command("tenant_create", *args)
    assert not Tenant.objects.exists()


# --- storefront_key_create ------------------------------------------------------------------


def test_storefront_key_create_prints_a_working_key_alone_on_its_last_line(db):
    # given
    run_command("tenant_create", "shop-1")

    # when
    out = run_command("storefront_key_create", "--tenant", "shop-1")

    # then
    key = out.rstrip("\n").splitlines()[-1]
    assert KEY_FORMAT.match(key)
    assert issue(key) == 200
    app = StorefrontApp.objects.get(tenant__slug="shop-1")
    assert app.name == "Storefront"
    assert app.keys.count() == 1


def test_storefront_key_create_reuses_the_app_and_adds_a_key(db):
    # given
    run_command("tenant_create", "shop-1")
    first = run_command("storefront_key_create", "--tenant", "shop-1").splitlines()[-1]

    # when
    second = run_command("storefront_key_create", "--tenant", "shop-1").splitlines()[-1]

    # then both keys work, for the same app
    assert first != second
    assert StorefrontApp.objects.filter(tenant__slug="shop-1").count() == 1
    assert StorefrontKey.objects.filter(app__tenant__slug="shop-1").count() == 2
    assert issue(first) == issue(second) == 200


def test_storefront_key_create_names_the_app(db):
    # given
    run_command("tenant_create", "shop-1")

    # when
    key = run_command(
        "storefront_key_create", "--tenant", "shop-1", "--app", "Mobile"
    ).splitlines()[-1]

    # then
    assert StorefrontKey.objects.get(prefix=secret_prefix(key, kind="sfk")).app.name == "Mobile"


def test_storefront_key_create_refuses_an_unknown_tenant(db):
    # when / then
    with pytest.raises(CommandError, match="no tenant 'nowhere'"):
        run_command("storefront_key_create", "--tenant", "nowhere")
    assert not StorefrontApp.objects.exists()
    assert not StorefrontKey.objects.exists()


# --- how keys look and are kept ---------------------------------------------------------------


def test_a_key_is_random_with_a_lookup_prefix(db):
    # given
    app = StorefrontAppFactory()

    # when
    keys = [storefront_key_create(app=app).value for _ in range(5)]

    # then
    matches = [KEY_FORMAT.match(key) for key in keys]
    assert all(matches)
    assert len({match["prefix"] for match in matches if match}) == 5
    assert len({match["secret"] for match in matches if match}) == 5
    # 43 base64url characters: 256 random bits
    assert all(len(match["secret"]) * 6 >= 256 for match in matches if match)


def test_a_key_is_stored_as_prefix_and_hash_only(db):
    # given
    run_command("tenant_create", "shop-1")
    key = run_command("storefront_key_create", "--tenant", "shop-1").splitlines()[-1]
    match = KEY_FORMAT.match(key)
    assert match

    # when
    row = StorefrontKey.objects.get()

    # then
    assert row.prefix == match["prefix"]
    assert row.secret_hash == hashlib.sha256(key.encode()).hexdigest()
    assert row.secret_hash != key
    assert match["secret"] not in row.secret_hash


def test_no_column_of_any_table_holds_the_key(db):
    # given
    TenantFactory(slug="shop-1")
    key = run_command("storefront_key_create", "--tenant", "shop-1").splitlines()[-1]
    secret = KEY_FORMAT.match(key)["secret"]  # type: ignore[index]

    # when every value of every row is read
    values = [
        str(value)
        for model in apps.get_models()
        for row in model.objects.values_list()
        for value in row
    ]

    # then
    assert values
    assert not [value for value in values if secret in value]


def test_the_key_lookup_is_cached_by_prefix_not_by_key(db):
    # given a resolved key
    app = StorefrontAppFactory()
    key = storefront_key_create(app=app).value
    assert storefront_key_resolve(key) is not None
    prefix = secret_prefix(key, kind=STOREFRONT_KEY_KIND)

    # then the cache holds the hash under the prefix, never the key
    cached = cache.get(f"{_KEY_CACHE_PREFIX}{prefix}")
    assert cached["secret_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in repr(cached)
    assert cache.get(f"{_KEY_CACHE_PREFIX}{key}") is None


# --- deactivation reaches the tokens already issued -------------------------------------------


def shopper_calls(api: APIClient, shopper: Shopper) -> dict[str, int]:
    """The status of each kind of call a shopper's token makes."""
    bearer = bearer_headers(shopper.token)
    return {
        "context": api.get("/commerceapi/authentication/customercontext", **bearer).status_code,
        "cart": api.get("/commerceapi/cart", **shopper.headers()).status_code,
        "catalog": api.get("/commerceapi/products", **bearer).status_code,
    }


ALL_OK = {"context": 200, "cart": 200, "catalog": 200}


def test_deactivating_a_tenant_stops_its_shoppers_tokens_at_once(
    api, storefront, django_capture_on_commit_callbacks
):
    # given a shopper of each of the tenant's two apps, whose tokens work
    second = make_storefront(tenant=storefront.tenant)
    shoppers = [anonymous_shopper(api, storefront.key), anonymous_shopper(api, second.key)]
    assert [shopper_calls(api, shopper) for shopper in shoppers] == [ALL_OK, ALL_OK]

    # when the tenant is deactivated
    storefront.tenant.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        tenant_save(tenant=storefront.tenant)

    # then no call of theirs works
    for shopper in shoppers:
        assert shopper_calls(api, shopper) == {"context": 401, "cart": 401, "catalog": 401}
        answer = api.get("/commerceapi/cart", **shopper.headers())
        assert answer.json()["code"] == 2012


def test_reactivating_a_tenant_restores_only_its_active_apps(
    api, storefront, django_capture_on_commit_callbacks
):
    # given a tenant with an active app and an app deactivated on its own, then the tenant
    # deactivated
    inactive = make_storefront(tenant=storefront.tenant)
    active_shopper = anonymous_shopper(api, storefront.key)
    inactive_shopper = anonymous_shopper(api, inactive.key)
    inactive.app.is_active = False
    storefront.tenant.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        storefront_app_save(app=inactive.app)
        tenant_save(tenant=storefront.tenant)

    # when the tenant is reactivated
    storefront.tenant.is_active = True
    with django_capture_on_commit_callbacks(execute=True):
        tenant_save(tenant=storefront.tenant)

    # then
    assert shopper_calls(api, active_shopper) == ALL_OK
    assert shopper_calls(api, inactive_shopper) == {"context": 401, "cart": 401, "catalog": 401}
    assert issue(storefront.key) == 200
    assert issue(inactive.key) == 401


def test_reactivating_an_app_of_an_inactive_tenant_keeps_its_tokens_revoked(
    api, storefront, django_capture_on_commit_callbacks
):
    # given a shopper, then the app and the tenant deactivated
    shopper = anonymous_shopper(api, storefront.key)
    storefront.app.is_active = False
    storefront.tenant.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        storefront_app_save(app=storefront.app)
        tenant_save(tenant=storefront.tenant)

    # when only the app is reactivated
    storefront.app.is_active = True
    with django_capture_on_commit_callbacks(execute=True):
        storefront_app_save(app=storefront.app)

    # then
    assert shopper_calls(api, shopper) == {"context": 401, "cart": 401, "catalog": 401}
    assert issue(storefront.key) == 401
