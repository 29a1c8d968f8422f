"""GET /commerceapi/products and /commerceapi/products/{sku}: the tenant's active catalog."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from identity.tenancy.storefront import storefront_app_save
from tests.conftest import (
    Storefront,
    anonymous_shopper,
    assert_problem,
    bearer_headers,
    field_error,
    make_storefront,
    problem,
)
from tests.factories import ProductFactory, TenantFactory
from tests.identity.tokens_helpers import PROBLEMS

LIST_URL = "/commerceapi/products"

MUG = {
    "sku": "MUG",
    "name": "Product MUG",
    "unitPrice": "9.50",
    "inStock": True,
    "stock": None,
    "maxQuantityPerOrder": None,
}
CAP = {
    "sku": "CAP",
    "name": "Product CAP",
    "unitPrice": "24.00",
    "inStock": True,
    "stock": 3,
    "maxQuantityPerOrder": None,
}
TEE = {
    "sku": "TEE",
    "name": "Product TEE",
    "unitPrice": "19.90",
    "inStock": True,
    "stock": None,
    "maxQuantityPerOrder": 5,
}
# Both schemes the catalog takes, whichever one failed.
CHALLENGES = 'X-Auth-Key realm="commerceapi", Bearer realm="commerceapi"'
NOT_FOUND = {
    "type": "urn:commerceapi:problem:product_not_found",
    "title": "Product not found",
    "status": 404,
    "detail": "No active product has this SKU.",
    "code": 3001,
}


def key_headers(storefront: Storefront) -> dict[str, str]:
    return {"HTTP_X_AUTH_KEY": storefront.key}


@pytest.fixture(params=["x-auth-key", "bearer"])
def caller(request: pytest.FixtureRequest, api, storefront) -> dict[str, str]:
    """The storefront's credentials: its X-Auth-Key, or a shopper's bearer token."""
    if request.param == "x-auth-key":
        return key_headers(storefront)
    return bearer_headers(anonymous_shopper(api, storefront.key).token)


# --- the list -------------------------------------------------------------------------------


def test_the_list_holds_the_active_products_by_sku(api, caller, products):
    # when
    answer = api.get(LIST_URL, **caller)

    # then
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {"count": 3, "next": None, "previous": None, "results": [CAP, MUG, TEE]}


def test_the_list_holds_only_the_callers_tenants_products(api, caller, products):
    # given another tenant's catalog, with a SKU also sold here
    other = TenantFactory()
    ProductFactory(tenant=other, sku="MUG", unit_price="1.00")
    ProductFactory(tenant=other, sku="OTHER-ONLY")

    # when
    answer = api.get(LIST_URL, **caller)

    # then
    assert [product["sku"] for product in answer.json()["results"]] == ["CAP", "MUG", "TEE"]
    assert answer.json()["results"][1] == MUG


def test_another_tenants_key_sees_its_own_catalog(api, products):
    # given
    other = make_storefront()
    ProductFactory(tenant=other.tenant, sku="OTHER-ONLY", unit_price="3.00", stock=0)

    # when
    answer = api.get(LIST_URL, **key_headers(other))

    # then
    assert answer.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "sku": "OTHER-ONLY",
                "name": "Product OTHER-ONLY",
                "unitPrice": "3.00",
                "inStock": False,
                "stock": 0,
                "maxQuantityPerOrder": None,
            }
        ],
    }


def test_an_empty_catalog_is_an_empty_page(api, storefront):
    # when
    answer = api.get(LIST_URL, **key_headers(storefront))

    # then
    assert answer.status_code == 200
    assert answer.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_the_list_is_paginated_by_page_size(api, storefront, products):
    # when
    first = api.get(LIST_URL, {"pageSize": 2}, **key_headers(storefront))
    second = api.get(first.json()["next"], **key_headers(storefront))

    # then
    assert first.json() == {
        "count": 3,
        "next": "http://testserver/commerceapi/products?page=2&pageSize=2",
        "previous": None,
        "results": [CAP, MUG],
    }
    assert second.json() == {
        "count": 3,
        "next": None,
        "previous": "http://testserver/commerceapi/products?pageSize=2",
        "results": [TEE],
    }


def test_pages_hold_twenty_by_default_and_at_most_a_hundred(api, storefront):
    # given 120 products
    Product.objects.bulk_create(
        Product(tenant=storefront.tenant, sku=f"SKU-{n:03d}", name=f"P{n}", unit_price=Decimal(1))
        for n in range(120)
    )

    # when
    default = api.get(LIST_URL, **key_headers(storefront)).json()
    largest = api.get(LIST_URL, {"pageSize": 100}, **key_headers(storefront)).json()

    # then
    assert (default["count"], len(default["results"])) == (120, 20)
    assert (largest["count"], len(largest["results"])) == (120, 100)
    assert largest["results"][0]["sku"] == "SKU-000"


def page_parameter_invalid(name, message):
    return problem(
        "query_parameter_invalid",
        "Invalid query parameter",
        400,
        message,
        1043,
        [field_error(name, "query_parameter_invalid", message)],
    )


PAGE_SIZE_MESSAGE = "A whole number from 1 to 100."
PAGE_MESSAGE = 'A whole number from 1 to 999999999, or "last".'


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("pageSize=abc", id="word"),
        pytest.param("pageSize=true", id="boolean"),
        pytest.param("pageSize=-5", id="negative"),
        pytest.param("pageSize=0", id="zero"),
        pytest.param("pageSize=101", id="over the maximum"),
        pytest.param("pageSize=100000", id="far over the maximum"),
        pytest.param("pageSize=2.0", id="decimal"),
        pytest.param("pageSize=", id="empty"),
        pytest.param("pageSize=%EF%BC%95", id="fullwidth digit"),
        pytest.param("pageSize=2&pageSize=3", id="repeated"),
    ],
)
def test_an_invalid_page_size_is_a_400_naming_it(api, storefront, products, query):
    # when
    answer = api.get(f"{LIST_URL}?{query}", **key_headers(storefront))

    # then it is refused, not silently replaced by the default
    assert_problem(answer, page_parameter_invalid("pageSize", PAGE_SIZE_MESSAGE))


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("page=abc", id="word"),
        pytest.param("page=true", id="boolean"),
        pytest.param("page=-5", id="negative"),
        pytest.param("page=0", id="zero"),
        pytest.param("page=1000000000", id="over the maximum"),
        pytest.param("page=99999999999999999999", id="too many digits"),
        pytest.param("page=", id="empty"),
        pytest.param("page=1&page=1", id="repeated"),
    ],
)
def test_an_invalid_page_is_a_400_naming_it(api, storefront, products, query):
    # when
    answer = api.get(f"{LIST_URL}?{query}", **key_headers(storefront))

    # then
    assert_problem(answer, page_parameter_invalid("page", PAGE_MESSAGE))


@pytest.mark.parametrize("page", ["2", "100000"])
def test_a_page_that_does_not_exist_is_a_404_problem(api, storefront, products, page):
    # when
    answer = api.get(LIST_URL, {"page": page}, **key_headers(storefront))

    # then
    assert_problem(
        answer,
        {
            "type": "urn:commerceapi:problem:not_found",
            "title": "Not found",
            "status": 404,
            "detail": "Invalid page.",
            "code": 1004,
        },
    )


def test_the_last_page_is_reachable(api, storefront, products):
    # when
    answer = api.get(LIST_URL, {"page": "last", "pageSize": 2}, **key_headers(storefront))

    # then
    assert answer.status_code == 200
    assert answer.json()["results"] == [TEE]


def test_a_list_page_is_a_constant_number_of_queries(api, storefront):
    # given a warm key lookup
    api.get(LIST_URL, **key_headers(storefront))
    ProductFactory.create_batch(3, tenant=storefront.tenant)
    with CaptureQueriesContext(connection) as few:
        api.get(LIST_URL, **key_headers(storefront))
    ProductFactory.create_batch(15, tenant=storefront.tenant)

    # when
    with CaptureQueriesContext(connection) as many:
        answer = api.get(LIST_URL, **key_headers(storefront))

    # then
    assert len(answer.json()["results"]) == 18
    assert len(many.captured_queries) == len(few.captured_queries) <= 2


# --- one product ----------------------------------------------------------------------------


def test_a_product_by_sku(api, caller, products):
    # when
    answer = api.get(f"{LIST_URL}/TEE", **caller)

    # then
    assert answer.status_code == 200
    assert answer.json() == TEE


def test_a_product_out_of_stock_is_shown_as_such(api, storefront):
    # given
    ProductFactory(tenant=storefront.tenant, sku="GONE", unit_price="5", stock=0)

    # when
    answer = api.get(f"{LIST_URL}/GONE", **key_headers(storefront))

    # then
    assert answer.json() == {
        "sku": "GONE",
        "name": "Product GONE",
        "unitPrice": "5.00",
        "inStock": False,
        "stock": 0,
        "maxQuantityPerOrder": None,
    }


@pytest.mark.parametrize(
    "sku",
    ["NOPE", "OLD", "THEIRS", "mug", "MUG%20", "%27%20OR%201%3D1--"],
    ids=["unknown", "inactive", "another-tenant", "case", "padded", "sql"],
)
def test_a_sku_the_caller_cannot_buy_is_a_404(api, caller, products, sku):
    # given another tenant sells THEIRS
    ProductFactory(tenant=TenantFactory(), sku="THEIRS")

    # when
    answer = api.get(f"{LIST_URL}/{sku}", **caller)

    # then
    assert_problem(answer, NOT_FOUND)


# --- credentials ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST_URL, f"{LIST_URL}/MUG"])
def test_no_credentials_is_401(api, products, url):
    # when
    answer = api.get(url)

    # then
    assert_problem(answer, PROBLEMS[2000])
    assert answer["WWW-Authenticate"] == CHALLENGES


def _revoked_app_bearer(api: Any, storefront: Storefront, capture: Any) -> dict[str, str]:
    shopper = anonymous_shopper(api, storefront.key)
    storefront.app.is_active = False
    with capture(execute=True):
        storefront_app_save(app=storefront.app)
    return bearer_headers(shopper.token)


@pytest.mark.parametrize(
    ("credentials", "code"),
    [
        ({"HTTP_X_AUTH_KEY": "sfk_000000000000_" + "A" * 43}, 2021),
        ({"HTTP_AUTHORIZATION": "Bearer not.a.token"}, 2010),
        ({"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, 2002),
        ("revoked-app", 2012),
    ],
    ids=["unknown-key", "bad-bearer", "basic", "deactivated-app"],
)
def test_bad_credentials_are_401(
    api, storefront, products, credentials, code, django_capture_on_commit_callbacks
):
    # given
    if credentials == "revoked-app":
        credentials = _revoked_app_bearer(api, storefront, django_capture_on_commit_callbacks)

    # when
    answer = api.get(LIST_URL, **credentials)

    # then
    assert answer.status_code == 401
    assert answer.json()["code"] == code
    assert answer["WWW-Authenticate"] == CHALLENGES
    assert "results" not in answer.json()
