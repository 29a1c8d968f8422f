"""The customer has a cart: merge policies. Part of the test_migration_api suite, whose docstring
says what it covers."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from carts.models import Cart, CartLine, CartMigration
from catalog.models import Product
from tests.carts.migration_api_common import (
    Catalog,
)
from tests.carts.migration_fixtures import (
    anonymous_cart,
    cart_line,
    cart_quantities,
    customer_cart,
    customer_cart_body,
    lines_add,
    migrate,
    migration_body,
    proof_of,
    report_line,
    storefront_policy,
)
from tests.conftest import Shopper, Storefront
from tests.identity.provider_fixtures import (
    CustomerShopper,
)

pytestmark = pytest.mark.django_db


# --- the customer has a cart: merge policies --------------------------------------------------

POLICY_CASES = {
    "max": (
        [
            report_line("MUG", "merged", anonymous=3, customer=2, quantity=3),
            report_line("CAP", "merged", anonymous=1, customer=2, quantity=2),
            report_line("TEE", "moved", anonymous=2, customer=0, quantity=2),
        ],
        [
            cart_line("MUG", 3, "9.50"),
            cart_line("CAP", 2, "24.00"),
            cart_line("PEN", 4, "2.00"),
            cart_line("TEE", 2, "19.90"),
        ],
    ),
    "sum": (
        [
            report_line("MUG", "merged", anonymous=3, customer=2, quantity=5),
            report_line("CAP", "merged", anonymous=1, customer=2, quantity=3),
            report_line("TEE", "moved", anonymous=2, customer=0, quantity=2),
        ],
        [
            cart_line("MUG", 5, "9.50"),
            cart_line("CAP", 3, "24.00"),
            cart_line("PEN", 4, "2.00"),
            cart_line("TEE", 2, "19.90"),
        ],
    ),
    "anonymous_wins": (
        [
            report_line("MUG", "merged", anonymous=3, customer=2, quantity=3),
            report_line("CAP", "merged", anonymous=1, customer=2, quantity=1),
            report_line("TEE", "moved", anonymous=2, customer=0, quantity=2),
            report_line(
                "PEN",
                "dropped",
                anonymous=0,
                customer=4,
                quantity=0,
                reasons=("replaced_by_anonymous_cart",),
            ),
        ],
        [cart_line("MUG", 3, "9.50"), cart_line("CAP", 1, "24.00"), cart_line("TEE", 2, "19.90")],
    ),
    "customer_wins": (
        [
            report_line(
                "MUG",
                "dropped",
                anonymous=3,
                customer=2,
                quantity=2,
                reasons=("already_in_customer_cart",),
            ),
            report_line(
                "CAP",
                "dropped",
                anonymous=1,
                customer=2,
                quantity=2,
                reasons=("already_in_customer_cart",),
            ),
            report_line("TEE", "moved", anonymous=2, customer=0, quantity=2),
        ],
        [
            cart_line("MUG", 2, "9.50"),
            cart_line("CAP", 2, "24.00"),
            cart_line("PEN", 4, "2.00"),
            cart_line("TEE", 2, "19.90"),
        ],
    ),
}


@pytest.mark.parametrize("policy", list(POLICY_CASES))
def test_each_merge_policy_merges_overlapping_and_new_skus(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
    policy: str,
) -> None:
    # given the storefront's merge policy, a customer cart of 2 MUG, 2 CAP, 4 PEN and an
    # anonymous cart of 3 MUG, 1 CAP, 2 TEE
    storefront_policy(storefront, merge=policy)
    customer = customer_shopper("auth0|alice")
    lines_add(api, customer, MUG=2, CAP=2, PEN=4)
    lines_add(api, shopper, MUG=3, CAP=1, TEE=2)
    target, source = customer_cart(customer.customer_id), anonymous_cart(shopper.anonymous_id)
    report, lines = POLICY_CASES[policy]

    # when the customer migrates the anonymous session
    answer = migrate(api, customer, proof_of(shopper))

    # then the customer's cart holds what the policy says, and the report tells why
    assert answer.status_code == 200, answer.content
    record = CartMigration.objects.get()
    assert answer.json() == {
        "cart": customer_cart_body(target, lines),
        "migration": migration_body(record, repeated=False, lines=report),
    }
    assert answer.json()["migration"]["policy"] == policy
    assert answer.json()["migration"]["sourceCartId"] == str(source.public_id)
    # and the anonymous cart is kept for audit, merged into the customer's, with its lines
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.status, source.merged_into, source.customer_id) == ("merged", target, None)
    assert source.merged_at is not None
    assert record.created_at <= source.merged_at == target.updated_at
    assert cart_quantities(source) == {"MUG": 3, "CAP": 1, "TEE": 2}
    assert (record.source_cart, record.target_cart, record.report) == (source, target, report)
    assert Cart.objects.count() == 2


def test_merge_clamps_to_stock_and_maximum_and_drops_what_cannot_be_sold(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
) -> None:
    # given the sum policy, a customer cart of 2 CAP (stock 3) and 3 TEE (at most 5 per order),
    # and an anonymous cart of 2 CAP, 4 TEE, and LAMP, BAG, BOX, PEN that changed since added
    storefront_policy(storefront, merge="sum")
    customer = customer_shopper("auth0|alice")
    lines_add(api, customer, CAP=2, TEE=3)
    lines_add(api, shopper, CAP=2, TEE=4, LAMP=8, BAG=1, BOX=2, PEN=3)
    Product.objects.filter(sku="LAMP").update(stock=5)
    Product.objects.filter(sku="BAG").update(is_active=False)
    Product.objects.filter(sku="BOX").update(stock=0)
    Product.objects.filter(sku="PEN").update(unit_price="2.40")
    target = customer_cart(customer.customer_id)

    # when the customer migrates the anonymous session
    answer = migrate(api, customer, proof_of(shopper))

    # then quantities are clamped to what can be sold, unsellable lines dropped, and prices
    # are the current ones
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "cart": customer_cart_body(
            target,
            [
                cart_line("CAP", 3, "24.00"),
                cart_line("TEE", 5, "19.90"),
                cart_line("LAMP", 5, "49.00"),
                cart_line("PEN", 3, "2.40"),
            ],
        ),
        "migration": migration_body(
            CartMigration.objects.get(),
            repeated=False,
            lines=[
                report_line(
                    "CAP", "clamped", anonymous=2, customer=2, quantity=3, reasons=("out_of_stock",)
                ),
                report_line(
                    "TEE", "clamped", anonymous=4, customer=3, quantity=5, reasons=("over_maximum",)
                ),
                report_line(
                    "LAMP",
                    "clamped",
                    anonymous=8,
                    customer=0,
                    quantity=5,
                    reasons=("out_of_stock",),
                ),
                report_line(
                    "BAG",
                    "dropped",
                    anonymous=1,
                    customer=0,
                    quantity=0,
                    reasons=("product_inactive",),
                ),
                report_line(
                    "BOX", "dropped", anonymous=2, customer=0, quantity=0, reasons=("out_of_stock",)
                ),
                report_line(
                    "PEN", "moved", anonymous=3, customer=0, quantity=3, reasons=("price_changed",)
                ),
            ],
        ),
    }


@override_settings(CART_MAX_LINES=3)
def test_new_lines_beyond_the_line_limit_are_dropped(
    api: APIClient, shopper: Shopper, catalog: Catalog, customer_shopper: CustomerShopper
) -> None:
    # given a limit of 3 lines, a customer cart of MUG and CAP, an anonymous cart of MUG, TEE, PEN
    customer = customer_shopper("auth0|alice")
    lines_add(api, customer, MUG=1, CAP=1)
    lines_add(api, shopper, MUG=2, TEE=1, PEN=1)
    target = customer_cart(customer.customer_id)

    # when the customer migrates the anonymous session
    answer = migrate(api, customer, proof_of(shopper))

    # then MUG merges into its line, TEE fills the last line, PEN has no room left
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "cart": customer_cart_body(
            target,
            [
                cart_line("MUG", 2, "9.50"),
                cart_line("CAP", 1, "24.00"),
                cart_line("TEE", 1, "19.90"),
            ],
        ),
        "migration": migration_body(
            CartMigration.objects.get(),
            repeated=False,
            lines=[
                report_line("MUG", "merged", anonymous=2, customer=1, quantity=2),
                report_line("TEE", "moved", anonymous=1, customer=0, quantity=1),
                report_line(
                    "PEN",
                    "dropped",
                    anonymous=1,
                    customer=0,
                    quantity=0,
                    reasons=("too_many_lines",),
                ),
            ],
        ),
    }
    assert CartLine.objects.filter(cart=target).count() == 3


@override_settings(CART_MAX_LINES=2)
def test_anonymous_wins_counts_only_the_lines_it_keeps_against_the_limit(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
) -> None:
    # given anonymous_wins, a limit of 2 lines, a full customer cart of MUG and CAP, and an
    # anonymous cart of TEE
    storefront_policy(storefront, merge="anonymous_wins")
    customer = customer_shopper("auth0|alice")
    lines_add(api, customer, MUG=1, CAP=1)
    lines_add(api, shopper, TEE=2)
    target = customer_cart(customer.customer_id)

    # when the customer migrates the anonymous session
    answer = migrate(api, customer, proof_of(shopper))

    # then the anonymous cart's line replaces the customer's: the cart is not left empty
    assert answer.status_code == 200, answer.content
    assert answer.json()["cart"] == customer_cart_body(target, [cart_line("TEE", 2, "19.90")])
    assert [line["outcome"] for line in answer.json()["migration"]["lines"]] == [
        "moved",
        "dropped",
        "dropped",
    ]


@pytest.mark.parametrize("merge", ["max", "sum", "anonymous_wins", "customer_wins"])
def test_the_customers_own_line_stays_as_it_was_when_the_anonymous_line_is_dropped(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
    merge: str,
) -> None:
    # given a customer cart of 2 CAP (stock 3) and an anonymous cart of 2 CAP, and CAP then
    # taken off sale
    storefront_policy(storefront, merge=merge)
    customer = customer_shopper("auth0|alice")
    lines_add(api, customer, CAP=2)
    lines_add(api, shopper, CAP=2)
    Product.objects.filter(sku="CAP").update(is_active=False)

    # when the customer migrates the anonymous session
    answer = migrate(api, customer, proof_of(shopper))

    # then the anonymous line is dropped and the customer's own line is untouched
    assert answer.status_code == 200, answer.content
    assert answer.json()["migration"]["lines"] == [
        report_line(
            "CAP", "dropped", anonymous=2, customer=2, quantity=2, reasons=("product_inactive",)
        )
    ]
    assert CartLine.objects.get(cart=customer_cart(customer.customer_id)).quantity == 2


def test_customer_wins_never_changes_the_customers_line(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
) -> None:
    # given customer_wins, a customer line of 3 CAP, and CAP's stock since lowered to 1
    storefront_policy(storefront, merge="customer_wins")
    customer = customer_shopper("auth0|alice")
    lines_add(api, customer, CAP=3)
    lines_add(api, shopper, CAP=1)
    Product.objects.filter(sku="CAP").update(stock=1)

    # when the customer migrates the anonymous session
    answer = migrate(api, customer, proof_of(shopper))

    # then only SKUs the customer lacks would be added: the customer's line is as it was
    assert answer.status_code == 200, answer.content
    assert answer.json()["migration"]["lines"] == [
        report_line(
            "CAP",
            "dropped",
            anonymous=1,
            customer=3,
            quantity=3,
            reasons=("already_in_customer_cart",),
        )
    ]
    assert CartLine.objects.get(cart=customer_cart(customer.customer_id)).quantity == 3
