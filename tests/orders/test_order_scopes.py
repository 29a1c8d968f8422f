"""Clients made before orders existed get the order scopes if they could fill a cart; new ones
get them by default."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from identity.models import OAuthClient, OAuthClientKind
from tests.conftest import Storefront
from tests.identity.oauth_helpers import make_client

pytestmark = pytest.mark.django_db

grant_order_scopes = importlib.import_module(
    "orders.migrations.0002_order_scopes"
).grant_order_scopes


def test_clients_that_could_fill_a_cart_may_now_check_it_out(storefront: Storefront) -> None:
    # given a sales channel from before (cart scopes only), an integration reading the catalog,
    # and a client granted the order scopes already
    old_channel = make_client(storefront, name="Old shop").client
    OAuthClient.objects.filter(pk=old_channel.pk).update(
        scopes=["cart:read", "cart:write", "catalog:read", "customers:create"]
    )
    reader = make_client(storefront, OAuthClientKind.INTEGRATION, name="Reader").client
    current = make_client(storefront, name="New shop").client

    # when the migration runs
    grant_order_scopes(apps, None)

    # then only the one that could fill a cart got them
    scopes = dict(OAuthClient.objects.values_list("name", "scopes"))
    assert scopes["Old shop"] == [
        "cart:read",
        "cart:write",
        "catalog:read",
        "customers:create",
        "orders:read",
        "orders:write",
    ]
    assert scopes["Reader"] == ["catalog:read"]
    assert scopes["New shop"] == current.scopes
    assert {"orders:read", "orders:write"} <= set(current.scopes)
    assert reader.scopes == ["catalog:read"]
