"""Helpers of the cart endpoint tests (test_cart_api, test_cart_bad_input): the URLs, the
changes a shopper makes and the whole cart answer they expect."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient

from carts.models import Cart
from catalog.models import Product
from tests.carts.migration_fixtures import (
    LINES_URL,
    line_add,
)
from tests.conftest import (
    Shopper,
    field_error,
    problem,
)

# --- helpers ------------------------------------------------------------------------------------


def line_url(sku: str) -> str:
    return f"{LINES_URL}/{sku}"


def line_set(api: APIClient, shopper: Shopper, sku: str, body: Any) -> Response:
    return api.patch(line_url(sku), body, format="json", **shopper.headers())


def line_delete(api: APIClient, shopper: Shopper, sku: str) -> Response:
    return api.delete(line_url(sku), **shopper.headers())


def raw_post(api: APIClient, shopper: Shopper, data: str | bytes, content_type: str) -> Response:
    return api.generic("POST", LINES_URL, data, content_type=content_type, **shopper.headers())


def open_cart(shopper: Shopper) -> Cart:
    return Cart.objects.get(anonymous_id=shopper.anonymous_id, status="open")


def domain_problem(slug: str, title: str, code: int, field: str, message: str) -> dict[str, Any]:
    """A 400 of the cart's rules, naming the field at fault."""
    return problem(slug, title, 400, message, code, [field_error(field, slug, message)])


@pytest.fixture
def filled(api: APIClient, shopper: Shopper, products: dict[str, Product]) -> Shopper:
    """The shopper's cart holds 2 MUG and 1 CAP."""
    assert line_add(api, shopper, {"sku": "MUG", "quantity": 2}).status_code == 200
    assert line_add(api, shopper, {"sku": "CAP", "quantity": 1}).status_code == 200
    return shopper
