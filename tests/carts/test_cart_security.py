"""The "carts" rows of SECURITY.md: another owner's cart, mass assignment, tenant isolation.

Two real anonymous shoppers, A and B, each with their own token and context. Whatever B sends,
A's cart is exactly as before.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from carts.models import Cart, CartLine
from catalog.models import Product
from tests.carts.migration_fixtures import (
    CART_URL,
    LINES_URL,
    anonymous_cart_body,
    cart_get,
    cart_line,
    line_add,
)
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    make_storefront,
    tables_snapshot,
)
from tests.factories import ProductFactory, TenantFactory

pytestmark = pytest.mark.django_db


def cart_rows(anonymous_id: str, tenant_id: int | None = None) -> list[tuple[Any, ...]]:
    """The carts of one anonymous id (in one tenant, or any) and their lines, as stored."""
    tenants = {} if tenant_id is None else {"tenant_id": tenant_id}
    carts = list(
        Cart.objects.filter(anonymous_id=anonymous_id, **tenants)
        .order_by("pk")
        .values_list("pk", "public_id", "tenant_id", "customer_id", "status", "updated_at")
    )
    line_tenants = {} if tenant_id is None else {"cart__tenant_id": tenant_id}
    lines = list(
        CartLine.objects.filter(cart__anonymous_id=anonymous_id, **line_tenants)
        .order_by("pk")
        .values_list("pk", "cart_id", "product_id", "quantity", "updated_at")
    )
    return [*carts, *lines]


@pytest.fixture
def shopper_a(api: APIClient, storefront: Storefront, products: dict[str, Product]) -> Shopper:
    """Shopper A holds 2 MUG and 1 CAP."""
    shopper = anonymous_shopper(api, storefront.key)
    assert line_add(api, shopper, {"sku": "MUG", "quantity": 2}).status_code == 200
    assert line_add(api, shopper, {"sku": "CAP", "quantity": 1}).status_code == 200
    return shopper


@pytest.fixture
def shopper_b(api: APIClient, storefront: Storefront, shopper_a: Shopper) -> Shopper:
    """Shopper B, of the same storefront, holds nothing yet."""
    shopper = anonymous_shopper(api, storefront.key)
    assert shopper.anonymous_id != shopper_a.anonymous_id
    return shopper


# --- another owner's cart or line -----------------------------------------------------------------


def test_b_reads_only_its_own_cart(api: APIClient, shopper_a: Shopper, shopper_b: Shopper) -> None:
    # when B reads "the" cart, also naming A's cart id and anonymous id in the query string
    a_cart_id = str(Cart.objects.get(anonymous_id=shopper_a.anonymous_id).public_id)
    answer = api.get(
        f"{CART_URL}?id={a_cart_id}&anonymousId={shopper_a.anonymous_id}", **shopper_b.headers()
    )

    # then B sees its own (empty, not yet created) cart
    assert answer.status_code == 200
    assert answer.json()["id"] is None
    assert answer.json()["lines"] == []


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_a_cart_addressed_by_its_id_is_404(
    api: APIClient, shopper_a: Shopper, shopper_b: Shopper, method: str
) -> None:
    # given A's cart id, which B has learnt
    before = tables_snapshot()
    a_cart_id = Cart.objects.get(anonymous_id=shopper_a.anonymous_id).public_id

    # when B addresses it by id, or A's lines under it
    answers = [
        getattr(api, method)(
            url, {"sku": "MUG", "quantity": 9}, format="json", **shopper_b.headers()
        )
        for url in (
            f"{CART_URL}/{a_cart_id}",
            f"{CART_URL}/{a_cart_id}/lines",
            f"{CART_URL}/{a_cart_id}/lines/MUG",
            f"/commerceapi/carts/{a_cart_id}",
        )
    ]

    # then there is no such resource, and nothing changed
    for answer in answers:
        assert answer.status_code == 404, answer.content
        assert answer["Content-Type"] == "application/problem+json"
        assert answer.json()["code"] == 1004
    assert tables_snapshot() == before


def test_b_patching_a_sku_in_a_cart_changes_only_b(
    api: APIClient, shopper_a: Shopper, shopper_b: Shopper
) -> None:
    # given A holds 2 MUG
    a_before = cart_rows(shopper_a.anonymous_id)

    # when B sets MUG to 9, and to 0
    answers = [
        api.patch(f"{LINES_URL}/MUG", {"quantity": quantity}, format="json", **shopper_b.headers())
        for quantity in (9, 0)
    ]

    # then B has no such line (404) and A's cart is exactly as before
    for answer in answers:
        assert answer.status_code == 404, answer.content
        assert answer.json()["code"] == 4006
    assert cart_rows(shopper_a.anonymous_id) == a_before
    assert not Cart.objects.filter(anonymous_id=shopper_b.anonymous_id).exists()


def test_b_deleting_a_line_of_a_changes_nothing(
    api: APIClient, shopper_a: Shopper, shopper_b: Shopper
) -> None:
    a_before = cart_rows(shopper_a.anonymous_id)

    answer = api.delete(f"{LINES_URL}/MUG", **shopper_b.headers())

    assert answer.status_code == 404
    assert answer.json()["code"] == 4006
    assert cart_rows(shopper_a.anonymous_id) == a_before


def test_b_with_its_own_cart_deleting_a_line_only_a_holds_changes_nothing(
    api: APIClient, shopper_a: Shopper, shopper_b: Shopper
) -> None:
    # given B holds TEE only, A holds MUG and CAP
    assert line_add(api, shopper_b, {"sku": "TEE", "quantity": 1}).status_code == 200
    before = tables_snapshot()

    # when B deletes MUG
    answer = api.delete(f"{LINES_URL}/MUG", **shopper_b.headers())

    # then 404 and neither cart changed
    assert answer.status_code == 404
    assert answer.json()["code"] == 4006
    assert tables_snapshot() == before


def test_b_emptying_its_cart_leaves_a_untouched(
    api: APIClient, shopper_a: Shopper, shopper_b: Shopper
) -> None:
    # given both hold a cart
    assert line_add(api, shopper_b, {"sku": "MUG", "quantity": 1}).status_code == 200
    a_before = cart_rows(shopper_a.anonymous_id)

    # when B empties its cart
    answer = api.delete(CART_URL, **shopper_b.headers())

    # then B's is empty and A's is exactly as before
    assert answer.status_code == 200
    assert answer.json()["lines"] == []
    assert cart_rows(shopper_a.anonymous_id) == a_before
    assert cart_get(api, shopper_a).json()["itemCount"] == 3


def test_b_adding_the_same_sku_gets_its_own_cart_and_line(
    api: APIClient, shopper_a: Shopper, shopper_b: Shopper
) -> None:
    a_before = cart_rows(shopper_a.anonymous_id)

    answer = line_add(api, shopper_b, {"sku": "MUG", "quantity": 1})

    assert answer.status_code == 200
    assert answer.json()["itemCount"] == 1
    b_cart = Cart.objects.get(anonymous_id=shopper_b.anonymous_id)
    assert answer.json()["id"] == str(b_cart.public_id)
    assert b_cart.public_id != Cart.objects.get(anonymous_id=shopper_a.anonymous_id).public_id
    assert cart_rows(shopper_a.anonymous_id) == a_before


def test_a_context_of_a_sent_with_bs_bearer_is_401(
    api: APIClient, shopper_a: Shopper, shopper_b: Shopper
) -> None:
    # given B holds A's customer context (but not A's bearer)
    before = tables_snapshot()
    mixed = [
        Shopper(shopper_b.token, shopper_a.context, shopper_a.anonymous_id),
        Shopper(shopper_a.token, shopper_b.context, shopper_b.anonymous_id),
    ]

    # when either mix reads or changes the cart
    for shopper in mixed:
        answers = [
            cart_get(api, shopper),
            line_add(api, shopper, {"sku": "MUG", "quantity": 1}),
            api.delete(f"{LINES_URL}/MUG", **shopper.headers()),
            api.delete(CART_URL, **shopper.headers()),
        ]

        # then each is refused as a mismatched context, and nothing changed
        for answer in answers:
            assert answer.status_code == 401, answer.content
            assert answer.json()["code"] == 2032
            assert "lines" not in answer.json()
    assert tables_snapshot() == before


def test_a_bare_anonymous_id_in_the_body_or_headers_selects_nothing(
    api: APIClient, shopper_a: Shopper, shopper_b: Shopper
) -> None:
    # when B adds, naming A's anonymous id and cart in the body and in headers
    a_before = cart_rows(shopper_a.anonymous_id)
    a_cart = Cart.objects.get(anonymous_id=shopper_a.anonymous_id)
    answer = api.post(
        LINES_URL,
        {
            "sku": "TEE",
            "quantity": 1,
            "anonymousId": shopper_a.anonymous_id,
            "anonymous_id": shopper_a.anonymous_id,
            "cart": str(a_cart.public_id),
            "cartId": str(a_cart.public_id),
        },
        format="json",
        HTTP_X_ANONYMOUS_ID=shopper_a.anonymous_id,
        HTTP_X_CART_ID=str(a_cart.public_id),
        **shopper_b.headers(),
    )

    # then the line went to B's own new cart
    assert answer.status_code == 200, answer.content
    assert answer.json()["id"] != str(a_cart.public_id)
    assert [line["sku"] for line in answer.json()["lines"]] == ["TEE"]
    assert cart_rows(shopper_a.anonymous_id) == a_before


def test_guessed_skus_in_the_path_never_fail_with_5xx(
    api: APIClient, shopper_a: Shopper, shopper_b: Shopper
) -> None:
    # when B tries SKUs that are odd in a URL or to a database
    before = tables_snapshot()
    for sku in ["%25", "..%2F..%2Fcart", "%27%20OR%201%3D1--", "%00", "MUG%00", "x" * 2000, "%F0"]:
        patched = api.patch(
            f"{LINES_URL}/{sku}", {"quantity": 1}, format="json", **shopper_b.headers()
        )
        deleted = api.delete(f"{LINES_URL}/{sku}", **shopper_b.headers())

        # then each is a 4xx problem and nothing changed
        for answer in (patched, deleted):
            assert 400 <= answer.status_code < 500, (sku, answer.status_code, answer.content)
            assert answer["Content-Type"] == "application/problem+json"
    assert tables_snapshot() == before


# --- mass assignment ------------------------------------------------------------------------------

INJECTED = {
    "id": "00000000-0000-0000-0000-000000000001",
    "customer": "00000000-0000-0000-0000-000000000002",
    "customer_id": "00000000-0000-0000-0000-000000000002",
    "customerId": "00000000-0000-0000-0000-000000000002",
    "tenant": 999,
    "tenant_id": 999,
    "price": "0.01",
    "unitPrice": "0.01",
    "unit_price": "0.01",
    "lineTotal": "0.01",
    "subtotal": "0.01",
    "status": "merged",
    "isAnonymous": False,
    "currency": "XXX",
    "name": "Free mug",
    "stock": 1000000,
}


def test_mass_assignment_on_add_is_ignored(
    api: APIClient, storefront: Storefront, products: dict[str, Product]
) -> None:
    # given a new shopper
    shopper = anonymous_shopper(api, storefront.key)

    # when an add carries fields that would change the cart, the price or the product
    answer = line_add(api, shopper, {"sku": "MUG", "quantity": 2, **INJECTED})

    # then only sku and quantity were used
    assert answer.status_code == 200, answer.content
    cart = Cart.objects.get()
    assert answer.json() == anonymous_cart_body(cart, [cart_line("MUG", 2, "9.50")])
    assert str(cart.public_id) != INJECTED["id"]
    assert (cart.tenant_id, str(cart.anonymous_id), cart.customer_id, cart.status) == (
        storefront.tenant.pk,
        shopper.anonymous_id,
        None,
        "open",
    )
    mug = Product.objects.get(sku="MUG")
    assert (mug.unit_price, mug.name, mug.stock, mug.tenant_id) == (
        Decimal("9.50"),
        "Product MUG",
        None,
        storefront.tenant.pk,
    )


def test_mass_assignment_on_set_is_ignored(
    api: APIClient, storefront: Storefront, shopper_a: Shopper
) -> None:
    # given A's cart with 2 MUG and 1 CAP
    cart = Cart.objects.get(anonymous_id=shopper_a.anonymous_id)
    mug_line = CartLine.objects.get(cart=cart, product__sku="MUG")
    before = tables_snapshot()

    # when A sets MUG with injected fields (and a sku in the body naming the other line)
    answer = api.patch(
        f"{LINES_URL}/MUG",
        {"quantity": 4, "sku": "CAP", **INJECTED},
        format="json",
        **shopper_a.headers(),
    )

    # then only the MUG line's quantity changed (and the cart's updatedAt with it)
    assert answer.status_code == 200, answer.content
    assert answer.json() == anonymous_cart_body(
        cart, [cart_line("MUG", 4, "9.50"), cart_line("CAP", 1, "24.00")]
    )
    assert (cart.tenant_id, str(cart.anonymous_id), cart.customer_id, cart.status) == (
        storefront.tenant.pk,
        shopper_a.anonymous_id,
        None,
        "open",
    )
    mug_line.refresh_from_db()
    after = tables_snapshot()
    changed = {
        table: [row for row in rows if row not in before[table]] for table, rows in after.items()
    }
    cart_row, line_row = [
        next(row for row in before[table] if row["id"] == pk)
        for table, pk in (("carts.Cart", cart.pk), ("carts.CartLine", mug_line.pk))
    ]
    assert changed == {
        **{table: [] for table in after},
        "carts.Cart": [{**cart_row, "updated_at": cart.updated_at}],
        "carts.CartLine": [{**line_row, "quantity": 4, "updated_at": mug_line.updated_at}],
    }


def test_mass_assignment_with_a_failing_add_changes_nothing(
    api: APIClient, shopper_a: Shopper
) -> None:
    before = tables_snapshot()

    answer = line_add(api, shopper_a, {"sku": "MUG", "quantity": 0, **INJECTED})

    assert answer.status_code == 400
    assert [error["field"] for error in answer.json()["errors"]] == ["quantity"]
    assert tables_snapshot() == before


# --- tenant isolation ----------------------------------------------------------------------------


@pytest.fixture
def other_tenant() -> Storefront:
    """Another tenant, with its own storefront, selling FOREIGN and its own MUG."""
    other = make_storefront(tenant=TenantFactory(slug="globex", currency="USD"))
    ProductFactory(tenant=other.tenant, sku="FOREIGN", unit_price="1.00")
    ProductFactory(tenant=other.tenant, sku="MUG", unit_price="0.50", name="Globex mug")
    return other


def test_a_product_of_another_tenant_is_an_unknown_sku(
    api: APIClient, shopper_a: Shopper, other_tenant: Storefront
) -> None:
    before = tables_snapshot()

    answers = [
        line_add(api, shopper_a, {"sku": "FOREIGN", "quantity": 1}),
        api.patch(f"{LINES_URL}/FOREIGN", {"quantity": 1}, format="json", **shopper_a.headers()),
    ]

    for answer in answers:
        assert answer.status_code == 400, answer.content
        assert answer.json()["code"] == 4001
        assert answer.json()["errors"] == [
            {
                "field": "sku",
                "code": "sku_unknown",
                "message": "No product has SKU 'FOREIGN'.",
            }
        ]
    assert tables_snapshot() == before


def test_a_sku_both_tenants_sell_is_the_shoppers_tenants_product(
    api: APIClient, shopper_a: Shopper, other_tenant: Storefront
) -> None:
    # given both tenants sell a MUG, at different prices
    # when A (of acme) adds a MUG
    answer = line_add(api, shopper_a, {"sku": "MUG", "quantity": 1})

    # then acme's MUG, in acme's currency
    assert answer.status_code == 200
    assert answer.json()["currency"] == "EUR"
    assert answer.json()["lines"][0] == {
        "sku": "MUG",
        "name": "Product MUG",
        "quantity": 3,
        "unitPrice": "9.50",
        "lineTotal": "28.50",
    }
    foreign_mug = Product.objects.get(tenant=other_tenant.tenant, sku="MUG")
    assert not CartLine.objects.filter(product=foreign_mug).exists()


def test_the_same_anonymous_id_in_another_tenant_is_another_cart(
    api: APIClient, storefront: Storefront, shopper_a: Shopper, other_tenant: Storefront
) -> None:
    # given a shopper of another tenant holding a token for A's very anonymous id
    twin = anonymous_shopper(
        api, other_tenant.key, anonymousAuthenticationRequest=shopper_a.anonymous_id
    )
    assert twin.anonymous_id == shopper_a.anonymous_id
    a_before = cart_rows(shopper_a.anonymous_id)

    # when the twin reads, empties and fills "its" cart
    read = cart_get(api, twin)
    emptied = api.delete(CART_URL, **twin.headers())
    removed = api.delete(f"{LINES_URL}/MUG", **twin.headers())
    added = line_add(api, twin, {"sku": "MUG", "quantity": 1})

    # then it only ever sees its own tenant's cart, and A's cart is untouched
    assert read.json()["id"] is None
    assert read.json()["currency"] == "USD"
    assert emptied.json()["lines"] == []
    assert removed.status_code == 404
    assert added.status_code == 200
    assert added.json()["lines"] == [
        {
            "sku": "MUG",
            "name": "Globex mug",
            "quantity": 1,
            "unitPrice": "0.50",
            "lineTotal": "0.50",
        }
    ]
    twin_cart = Cart.objects.get(tenant=other_tenant.tenant)
    assert str(twin_cart.anonymous_id) == shopper_a.anonymous_id
    assert cart_rows(shopper_a.anonymous_id, tenant_id=storefront.tenant.pk) == a_before


def test_a_shopper_of_another_tenant_cannot_reach_a_by_guessing(
    api: APIClient, shopper_a: Shopper, other_tenant: Storefront
) -> None:
    # given a shopper of another tenant
    stranger = anonymous_shopper(api, other_tenant.key)
    before = tables_snapshot()

    # when they try A's SKUs
    answers = [
        api.patch(f"{LINES_URL}/CAP", {"quantity": 3}, format="json", **stranger.headers()),
        api.delete(f"{LINES_URL}/CAP", **stranger.headers()),
        line_add(api, stranger, {"sku": "CAP", "quantity": 1}),
    ]

    # then CAP is not theirs to change or buy, and nothing changed
    assert [answer.status_code for answer in answers] == [400, 404, 400]
    assert [answer.json()["code"] for answer in answers] == [4001, 4006, 4001]
    assert tables_snapshot() == before


def test_an_unknown_anonymous_id_never_shares_a_cart(
    api: APIClient, storefront: Storefront, shopper_a: Shopper
) -> None:
    # given a token requested for a fresh id
    fresh = str(uuid.uuid4())
    shopper = anonymous_shopper(api, storefront.key, anonymousAuthenticationRequest=fresh)

    # then it reads an empty cart, not A's
    assert shopper.anonymous_id == fresh
    assert cart_get(api, shopper).json()["id"] is None
