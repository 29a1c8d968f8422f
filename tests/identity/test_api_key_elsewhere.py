"""API keys are the credential of /supplier/ and /payment/ only: every other endpoint (shopper,
OAuth, admin, documentation) refuses a request carrying one, 403 ``api_key_not_accepted`` for
a live key and 401 for anything else, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import Shopper, Storefront, assert_problem, problem, tables_snapshot
from tests.identity.api_keys_common import IssuedKey, api_key_headers
from tests.identity.test_api_keys import assert_key_refused, tampered

NOT_ACCEPTED = problem(
    "api_key_not_accepted",
    "API keys are not accepted here",
    403,
    "API keys are the credential of /supplier/ and /payment/ only; shopper, OAuth, reseller and "
    "admin endpoints refuse them. Use this surface's own credential.",
    2104,
)


def test_a_live_api_key_cannot_check_out_and_nothing_is_ordered(
    api: Any, carted: Shopper, supplier_key: IssuedKey, payment_key: IssuedKey
) -> None:
    before = tables_snapshot()
    for key in (supplier_key, payment_key):
        # Alone, and beside the shopper's own bearer and context.
        for headers in (key.headers(), {**carted.headers(), **key.headers()}):
            answer = api.post(
                "/commerceapi/orders",
                {"email": "a@example.com"},
                format="json",
                HTTP_IDEMPOTENCY_KEY="order-1",
                **headers,
            )
            assert_problem(answer, NOT_ACCEPTED)
    assert tables_snapshot() == before


SHOPPER_AND_OAUTH_CALLS = [
    ("post", "/commerceapi/authentication/"),
    ("get", "/commerceapi/authentication/customercontext"),
    ("get", "/commerceapi/products"),
    ("get", "/commerceapi/products/MUG"),
    ("get", "/commerceapi/cart"),
    ("post", "/commerceapi/cart/lines"),
    ("post", "/commerceapi/cart/migrate"),
    ("get", "/commerceapi/orders"),
    ("post", "/Orders/Create"),
    ("get", "/commerceapi/customer"),
    ("post", "/commerceapi/customers"),
    ("get", "/customer/current.jwt"),
    ("post", "/oauth/token"),
    ("post", "/oauth/revoke"),
    ("post", "/oauth/introspect"),
    ("get", "/reseller/orders"),
    ("get", "/admin/"),
    ("get", "/api/schema/"),
]


@pytest.mark.parametrize(("method", "path"), SHOPPER_AND_OAUTH_CALLS)
def test_api_keys_are_refused_on_every_other_endpoint(
    api: Any,
    carted: Shopper,
    storefront: Storefront,
    supplier_key: IssuedKey,
    method: str,
    path: str,
) -> None:
    before = tables_snapshot()
    call = getattr(api, method)
    headers = {**carted.headers(), "HTTP_X_AUTH_KEY": storefront.key}
    assert_problem(call(path, **headers, **supplier_key.headers()), NOT_ACCEPTED)
    assert_key_refused(call(path, **headers, **api_key_headers(tampered(supplier_key.value))))
    assert tables_snapshot() == before


def test_an_operator_signed_in_to_the_admin_is_refused_with_an_api_key(
    operator: Client, supplier_key: IssuedKey
) -> None:
    assert operator.get("/admin/").status_code == 200
    assert_problem(operator.get("/admin/", **supplier_key.headers()), NOT_ACCEPTED)
