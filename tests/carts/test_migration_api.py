"""POST /commerceapi/cart/migrate: what a migration does to both carts and what it answers,
exactly once, what is left of the anonymous session afterwards, and what it tells others."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from carts.models import Cart, CartLine, CartMigration
from carts.owners import CartOwner
from carts.services import cart_line_add
from catalog.models import Product
from core.errors import DomainError
from identity.credentials.revocation import anonymous_revocation_key
from identity.models import Revocation
from tests.carts.migration_fixtures import (
    ANONYMOUS_SESSION_ENDED,
    AUTH_URL,
    CART_URL,
    EMPTY_CUSTOMER_CART,
    MIGRATION_CONFLICT,
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
from tests.conftest import Shopper, Storefront, anonymous_shopper, assert_problem, tables_snapshot
from tests.identity.provider_fixtures import (
    CONTEXT_URL,
    CustomerShopper,
)

pytestmark = pytest.mark.django_db

CaptureOnCommit = Callable[..., Any]
Catalog = dict[str, Product]

received_events: list[tuple[str, dict[str, Any]]] = []


def event_record(event: str, payload: dict[str, Any]) -> None:
    """An event handler that keeps what it is given."""
    received_events.append((event, payload))


def event_fail(event: str, payload: dict[str, Any]) -> None:
    """An event handler that always fails."""
    raise RuntimeError("subscriber down")


@pytest.fixture(autouse=True)
def _no_events_yet() -> None:
    received_events.clear()


# --- the customer has no cart -----------------------------------------------------------------


def test_a_customer_without_a_cart_gets_the_anonymous_cart_itself(
    api: APIClient, shopper: Shopper, catalog: Catalog, customer_shopper: CustomerShopper
) -> None:
    # given an anonymous cart of 2 MUG and 1 TEE, and a customer without a cart
    lines_add(api, shopper, MUG=2, TEE=1)
    cart = anonymous_cart(shopper.anonymous_id)
    customer = customer_shopper("auth0|alice")

    # when the customer migrates the anonymous session
    answer = migrate(api, customer, proof_of(shopper))

    # then the very same cart is now the customer's, its lines moved as they were
    assert answer.status_code == 200, answer.content
    record = CartMigration.objects.get()
    assert answer.json() == {
        "cart": customer_cart_body(
            cart, [cart_line("MUG", 2, "9.50"), cart_line("TEE", 1, "19.90")]
        ),
        "migration": migration_body(
            record,
            repeated=False,
            lines=[
                report_line("MUG", "moved", anonymous=2, customer=0, quantity=2),
                report_line("TEE", "moved", anonymous=1, customer=0, quantity=1),
            ],
        ),
    }
    assert answer.json()["cart"]["id"] == str(cart.public_id)
    assert customer_cart(customer.customer_id).pk == cart.pk
    assert cart.customer_id is not None and str(cart.customer_id) == customer.customer_id
    assert (cart.status, cart.merged_into, cart.merged_at) == ("open", None, None)
    assert Cart.objects.count() == 1
    assert (record.source_cart, record.target_cart, record.policy) == (cart, cart, "max")
    assert str(record.customer_id) == customer.customer_id
    assert record.report == answer.json()["migration"]["lines"]


def test_an_adopted_cart_is_clamped_and_cleaned_like_a_merged_one(
    api: APIClient, shopper: Shopper, catalog: Catalog, customer_shopper: CustomerShopper
) -> None:
    # given an anonymous cart whose CAP lost stock, whose BAG left the catalog and whose PEN
    # got dearer since they were added
    lines_add(api, shopper, MUG=1, CAP=3, BAG=1, PEN=2)
    Product.objects.filter(sku="CAP").update(stock=1)
    Product.objects.filter(sku="BAG").update(is_active=False)
    Product.objects.filter(sku="PEN").update(unit_price="2.50")
    cart = anonymous_cart(shopper.anonymous_id)
    customer = customer_shopper("auth0|alice")

    # when the customer, who has no cart, migrates it
    answer = migrate(api, customer, proof_of(shopper))

    # then the cart is theirs with CAP clamped to stock, BAG gone and PEN at its new price
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "cart": customer_cart_body(
            cart,
            [
                cart_line("MUG", 1, "9.50"),
                cart_line("CAP", 1, "24.00"),
                cart_line("PEN", 2, "2.50"),
            ],
        ),
        "migration": migration_body(
            CartMigration.objects.get(),
            repeated=False,
            lines=[
                report_line("MUG", "moved", anonymous=1, customer=0, quantity=1),
                report_line(
                    "CAP", "clamped", anonymous=3, customer=0, quantity=1, reasons=("out_of_stock",)
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
                    "PEN", "moved", anonymous=2, customer=0, quantity=2, reasons=("price_changed",)
                ),
            ],
        ),
    }
    assert cart_quantities(cart) == {"MUG": 1, "CAP": 1, "PEN": 2}


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


# --- nothing to migrate -----------------------------------------------------------------------


def test_without_an_anonymous_cart_only_the_migration_is_recorded(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
) -> None:
    # given an anonymous shopper who never added anything, and a customer cart of 1 MUG
    customer = customer_shopper("auth0|alice")
    lines_add(api, customer, MUG=1)
    target = customer_cart(customer.customer_id)
    before = tables_snapshot()

    # when the customer migrates the anonymous session
    answer = migrate(api, customer, proof_of(shopper))

    # then the answer is the customer's cart and an empty report
    assert answer.status_code == 200, answer.content
    record = CartMigration.objects.get()
    assert answer.json() == {
        "cart": customer_cart_body(target, [cart_line("MUG", 1, "9.50")]),
        "migration": migration_body(record, repeated=False, lines=[]),
    }
    assert answer.json()["migration"]["sourceCartId"] is None
    # and no cart or line was written: only the record, and the anonymous id's retirement
    after = tables_snapshot()
    assert (after["carts.Cart"], after["carts.CartLine"]) == (
        before["carts.Cart"],
        before["carts.CartLine"],
    )
    assert len(after["carts.CartMigration"]) == 1
    assert (record.source_cart, record.target_cart, record.report) == (None, target, [])
    assert list(Revocation.objects.values_list("key", flat=True)) == [
        anonymous_revocation_key(storefront.tenant.pk, shopper.anonymous_id)
    ]


def test_an_empty_anonymous_cart_is_nothing_to_migrate(
    api: APIClient, shopper: Shopper, catalog: Catalog, customer_shopper: CustomerShopper
) -> None:
    # given an anonymous cart emptied again, and a customer without a cart
    lines_add(api, shopper, MUG=1)
    assert api.delete(f"{CART_URL}/lines/MUG", **shopper.headers()).status_code == 200
    customer = customer_shopper("auth0|alice")
    before = tables_snapshot()

    # when the customer migrates the anonymous session
    answer = migrate(api, customer, proof_of(shopper))

    # then the customer still has no cart, the report is empty, no cart or line was written
    assert answer.status_code == 200, answer.content
    record = CartMigration.objects.get()
    assert answer.json() == {
        "cart": EMPTY_CUSTOMER_CART,
        "migration": migration_body(record, repeated=False, lines=[]),
    }
    after = tables_snapshot()
    assert (after["carts.Cart"], after["carts.CartLine"]) == (
        before["carts.Cart"],
        before["carts.CartLine"],
    )
    assert (record.source_cart, record.target_cart) == (None, None)


# --- exactly once -----------------------------------------------------------------------------


def test_the_same_customer_repeating_gets_the_recorded_result_and_nothing_twice(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
) -> None:
    # given a migration done under the sum policy, where a second merge would double MUG
    storefront_policy(storefront, merge="sum")
    customer = customer_shopper("auth0|alice")
    lines_add(api, customer, MUG=1)
    lines_add(api, shopper, MUG=2, TEE=1)
    first = migrate(api, customer, proof_of(shopper))
    assert first.status_code == 200, first.content
    before = tables_snapshot()

    # when the customer calls migrate again with the same anonymous session
    again = migrate(api, customer, proof_of(shopper))

    # then the answer is the recorded migration, marked as a repeat, and nothing was merged
    assert again.status_code == 200, again.content
    assert again.json() == {
        "cart": first.json()["cart"],
        "migration": {**first.json()["migration"], "repeated": True},
    }
    assert again.json()["migration"]["lines"] == [
        report_line("MUG", "merged", anonymous=2, customer=1, quantity=3),
        report_line("TEE", "moved", anonymous=1, customer=0, quantity=1),
    ]
    assert tables_snapshot() == before
    assert cart_quantities(customer_cart(customer.customer_id)) == {"MUG": 3, "TEE": 1}


def test_another_customer_presenting_a_migrated_id_gets_409_and_nothing_changes(
    api: APIClient, shopper: Shopper, catalog: Catalog, customer_shopper: CustomerShopper
) -> None:
    # given an anonymous session migrated by alice, and bob with a cart of his own
    alice = customer_shopper("auth0|alice")
    bob = customer_shopper("auth0|bob")
    lines_add(api, bob, CAP=1)
    lines_add(api, shopper, MUG=2)
    assert migrate(api, alice, proof_of(shopper)).status_code == 200
    before = tables_snapshot()

    # when bob presents the same anonymous id with its valid token
    answer = migrate(api, bob, proof_of(shopper))

    # then he is refused and no row changed: alice keeps the merge, bob his own cart
    assert_problem(answer, MIGRATION_CONFLICT)
    assert tables_snapshot() == before
    assert cart_quantities(customer_cart(bob.customer_id)) == {"CAP": 1}
    assert cart_quantities(customer_cart(alice.customer_id)) == {"MUG": 2}


# --- after the migration ----------------------------------------------------------------------


def test_the_old_anonymous_token_reaches_no_cart_after_the_migration(
    api: APIClient,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given an anonymous session that used its cart, then was migrated by a customer
    lines_add(api, shopper, MUG=2)
    customer = customer_shopper("auth0|alice")
    with django_capture_on_commit_callbacks(execute=True):
        assert migrate(api, customer, proof_of(shopper)).status_code == 200

    # when the old anonymous token and context read the cart, add to it, or mint a context
    read = api.get(CART_URL, **shopper.headers())
    add = api.post(
        f"{CART_URL}/lines", {"sku": "MUG", "quantity": 1}, format="json", **shopper.headers()
    )
    context = api.get(CONTEXT_URL, HTTP_AUTHORIZATION=f"Bearer {shopper.token}")
    with_customer_context = api.get(
        CART_URL,
        HTTP_AUTHORIZATION=f"Bearer {shopper.token}",
        HTTP_X_CUSTOMER_CONTEXT=customer.context,
    )

    # then each is told the anonymous session ended (or that the context is not its own), and
    # the customer's cart is untouched
    for answer in (read, add, context):
        assert_problem(answer, ANONYMOUS_SESSION_ENDED)
        assert answer["WWW-Authenticate"] == 'Bearer realm="commerceapi"'
    assert with_customer_context.status_code == 401
    assert with_customer_context.json()["code"] == 2032
    assert cart_quantities(customer_cart(customer.customer_id)) == {"MUG": 2}
    assert api.get(CART_URL, **customer.headers()).json()["lines"][0]["quantity"] == 2


def test_reauthenticating_with_the_migrated_id_yields_a_new_id(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a migrated anonymous session
    lines_add(api, shopper, MUG=2)
    customer = customer_shopper("auth0|alice")
    with django_capture_on_commit_callbacks(execute=True):
        assert migrate(api, customer, proof_of(shopper)).status_code == 200

    # when the storefront re-authenticates asking for that id, proving it with the old token
    answer = api.post(
        AUTH_URL,
        {"anonymousAuthenticationRequest": shopper.anonymous_id},
        format="json",
        HTTP_X_AUTH_KEY=storefront.key,
        HTTP_AUTHORIZATION=f"Bearer {shopper.token}",
    )

    # then it gets a new anonymous id, with an empty cart of its own
    assert answer.status_code == 200, answer.content
    new_id = answer.json()["anonymousId"]
    assert new_id != shopper.anonymous_id
    fresh = anonymous_shopper(api, storefront.key, anonymousAuthenticationRequest=new_id)
    assert fresh.anonymous_id == new_id
    assert api.get(CART_URL, **fresh.headers()).json()["lines"] == []


@pytest.mark.parametrize(
    ("customer_has_cart", "anonymous_cart_state"),
    [(True, "filled"), (False, "filled"), (True, "none"), (True, "emptied"), (False, "emptied")],
    ids=["merged", "adopted", "no-cart", "empty-cart", "empty-cart-no-customer-cart"],
)
def test_adding_with_the_migrated_anonymous_id_is_refused(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
    customer_has_cart: bool,
    anonymous_cart_state: str,
) -> None:
    # given a migrated anonymous session (its cart merged, adopted, never made, or emptied)
    customer = customer_shopper("auth0|alice")
    if customer_has_cart:
        lines_add(api, customer, CAP=1)
    if anonymous_cart_state != "none":
        lines_add(api, shopper, MUG=2)
    if anonymous_cart_state == "emptied":
        assert api.delete(f"{CART_URL}/lines/MUG", **shopper.headers()).status_code == 200
    assert migrate(api, customer, proof_of(shopper)).status_code == 200
    before = tables_snapshot()

    # when something still holding the old anonymous principal adds to its cart
    owner = CartOwner(
        tenant_id=storefront.tenant.pk,
        anonymous_id=shopper.anonymous_id,
        storefront_app_id=str(storefront.app.public_id),
    )
    with pytest.raises(DomainError) as refused:
        cart_line_add(owner=owner, sku="MUG", quantity=1)

    # then it is told the anonymous id is retired, and no cart or line was created
    assert refused.value.code.number == 4011
    assert tables_snapshot() == before


# --- the log line and the event hook ----------------------------------------------------------


@override_settings(
    CART_EVENT_HANDLERS=[
        "tests.carts.test_migration_api.event_fail",
        "tests.carts.test_migration_api.event_record",
    ]
)
def test_a_migration_logs_cart_migrated_and_calls_each_handler_after_commit(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: CaptureOnCommit,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a customer cart of 1 MUG, an anonymous cart of 2 MUG, 1 TEE, 1 BAG (gone since),
    # and a failing handler listed before a recording one
    customer = customer_shopper("auth0|alice")
    lines_add(api, customer, MUG=1)
    lines_add(api, shopper, MUG=2, TEE=1, BAG=1)
    Product.objects.filter(sku="BAG").update(is_active=False)
    caplog.set_level(logging.INFO, logger="carts.migration")

    # when the customer migrates, and the transaction commits
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        answer = migrate(api, customer, proof_of(shopper))
        # nothing is told before the commit
        assert received_events == []
        assert not [r for r in caplog.records if r.getMessage().startswith("cart.migrated")]

    # then one structured line is logged and the recording handler got the event
    assert answer.status_code == 200, answer.content
    assert callbacks
    payload = {
        "tenant": storefront.tenant.pk,
        "customer": customer.customer_id,
        "anonymous_id": shopper.anonymous_id,
        "target_cart": str(customer_cart(customer.customer_id).public_id),
        "source_cart": str(anonymous_cart(shopper.anonymous_id).public_id),
        "policy": "max",
        "outcomes": {"moved": 1, "merged": 1, "clamped": 0, "dropped": 1},
    }
    migrated = [r for r in caplog.records if r.getMessage().startswith("cart.migrated")]
    assert len(migrated) == 1
    record = migrated[0]
    assert (record.name, record.levelno) == ("carts.migration", logging.INFO)
    assert record.getMessage() == f"cart.migrated {json.dumps(payload, sort_keys=True)}"
    for key, value in payload.items():
        assert getattr(record, key) == value
    assert received_events == [("cart.migrated", payload)]
    # and the failing handler was logged, without failing anything
    failures = [r for r in caplog.records if r.getMessage().startswith("cart event handler")]
    assert [r.getMessage() for r in failures] == [
        "cart event handler tests.carts.test_migration_api.event_fail failed"
    ]
    assert failures[0].levelno == logging.ERROR


def test_a_repeated_or_refused_migration_tells_nobody(
    api: APIClient,
    shopper: Shopper,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: CaptureOnCommit,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a migrated anonymous session, and a recording handler
    alice, bob = customer_shopper("auth0|alice"), customer_shopper("auth0|bob")
    lines_add(api, shopper, MUG=2)
    assert migrate(api, alice, proof_of(shopper)).status_code == 200
    caplog.set_level(logging.INFO, logger="carts.migration")

    # when alice repeats it and bob tries it
    with (
        override_settings(CART_EVENT_HANDLERS=["tests.carts.test_migration_api.event_record"]),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert migrate(api, alice, proof_of(shopper)).status_code == 200
        assert migrate(api, bob, proof_of(shopper)).status_code == 409

    # then no event was logged or sent
    assert received_events == []
    assert not [r for r in caplog.records if r.getMessage().startswith("cart.migrated")]


@pytest.mark.django_db(transaction=True)
@override_settings(CART_EVENT_HANDLERS=["tests.carts.test_migration_api.event_fail"])
def test_a_failing_handler_does_not_fail_the_request(
    api: APIClient, shopper: Shopper, catalog: Catalog, customer_shopper: CustomerShopper
) -> None:
    # given a handler that raises, run for real when the request's transaction commits
    lines_add(api, shopper, MUG=2)
    customer = customer_shopper("auth0|alice")

    # when the customer migrates
    answer = migrate(api, customer, proof_of(shopper))

    # then the request succeeds and the migration is committed
    assert answer.status_code == 200, answer.content
    assert answer.json()["migration"]["lines"] == [
        report_line("MUG", "moved", anonymous=2, customer=0, quantity=2)
    ]
    assert CartMigration.objects.count() == 1
    assert cart_quantities(customer_cart(customer.customer_id)) == {"MUG": 2}
