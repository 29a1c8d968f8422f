"""Migrations racing each other and racing add-to-cart, with real threads and connections.

Each racing call runs the service the API would run, in its own thread with its own database
connection; a barrier starts them together. On PostgreSQL the row locks, the unique
constraints and an advisory lock per anonymous id decide the races. SQLite serializes writers
(immediate transactions and a busy timeout): the 20-way race must end there in the same state
without any error but the domain's own, on a file database (the in-memory test database cannot
be shared by threads).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from carts.migration import MigrationResult
from carts.models import Cart, CartLine, CartMigration
from carts.owners import CartOwner
from carts.services import cart_line_add
from catalog.models import Product
from identity.models import Revocation
from tests.carts.migration_fixtures import (
    anonymous_cart,
    cart_quantities,
    customer_cart,
    migrate_as_the_api_does,
    race,
    report_line,
    storefront_policy,
)
from tests.conftest import Storefront
from tests.identity.provider_fixtures import (
    CustomerShopper,
)

RACERS = 20
# Seconds the add waits after the start, one round each.
ADD_DELAYS = (0, 0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.25)

pytestmark = [pytest.mark.django_db(transaction=True)]


def _sqlite_test_database_in_memory() -> bool:
    if connection.vendor != "sqlite":
        return False
    test_name = connection.settings_dict.get("TEST", {}).get("NAME")
    return test_name is None or connection.creation.is_in_memory_db(test_name)


Catalog = dict[str, Product]


def anonymous_owner(storefront: Storefront, anonymous_id: str) -> CartOwner:
    return CartOwner(
        tenant_id=storefront.tenant.pk,
        anonymous_id=anonymous_id,
        storefront_app_id=str(storefront.app.public_id),
    )


def customer_owner(storefront: Storefront, customer_id: str) -> CartOwner:
    return CartOwner(tenant_id=storefront.tenant.pk, customer_id=customer_id)


def customer_rows(customer_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    carts = Cart.objects.filter(customer_id__in=customer_ids)
    return {
        "carts": list(carts.order_by("pk").values()),
        "lines": list(CartLine.objects.filter(cart__in=carts).order_by("pk").values()),
    }


def migration_of(
    storefront: Storefront, anonymous_id: str, customer_id: str
) -> Callable[[], MigrationResult]:
    return lambda: migrate_as_the_api_does(
        storefront=storefront, anonymous_id=anonymous_id, customer_id=customer_id
    )


def add_of(owner: CartOwner, sku: str, quantity: int, *, delay: float) -> Callable[[], str]:
    """Add to the cart ``delay`` seconds after the start, so that the rounds of a race meet
    the migration before, while and after it holds its locks."""

    def add() -> str:
        time.sleep(delay)
        cart_line_add(owner=owner, sku=sku, quantity=quantity)
        return "added"

    return add


# --- the same anonymous id, 20 times at once --------------------------------------------------


@pytest.mark.skipif(
    _sqlite_test_database_in_memory(),
    reason=(
        "SQLite's in-memory test database is one shared-cache database: its connections get "
        "table locks (SQLITE_LOCKED) that no busy timeout waits for, so real threads cannot "
        "share it; the file database the app runs on queues them instead"
    ),
)
def test_twenty_parallel_migrations_by_the_same_customer_merge_once(
    api: APIClient,
    storefront: Storefront,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
) -> None:
    # given the sum policy (a second merge would show), a customer cart of 1 MUG and an
    # anonymous cart of 2 MUG and 1 TEE
    storefront_policy(storefront, merge="sum")
    customer_id = customer_shopper("auth0|alice").customer_id
    anonymous_id = "7d8f1e36-2c4b-4f8e-9a51-0b6f3c2d1e90"
    cart_line_add(owner=customer_owner(storefront, customer_id), sku="MUG", quantity=1)
    cart_line_add(owner=anonymous_owner(storefront, anonymous_id), sku="MUG", quantity=2)
    cart_line_add(owner=anonymous_owner(storefront, anonymous_id), sku="TEE", quantity=1)

    # when the customer's 20 retries migrate the anonymous id at once
    outcome = race([migration_of(storefront, anonymous_id, customer_id)] * RACERS)

    # then one merged, the other 19 got its recorded result, and nothing was merged twice
    assert outcome.other_errors == []
    assert outcome.domain_errors == []
    assert sorted(result.repeated for result in outcome.returned) == [False] + [True] * 19
    report = [
        report_line("MUG", "merged", anonymous=2, customer=1, quantity=3),
        report_line("TEE", "moved", anonymous=1, customer=0, quantity=1),
    ]
    assert all(result.lines == report for result in outcome.returned)
    assert len({result.migrated_at for result in outcome.returned}) == 1
    assert CartMigration.objects.count() == 1
    assert cart_quantities(customer_cart(customer_id)) == {"MUG": 3, "TEE": 1}
    source = anonymous_cart(anonymous_id)
    assert (source.status, source.merged_into) == ("merged", customer_cart(customer_id))
    assert Cart.objects.count() == 2
    assert Revocation.objects.count() == 1


# --- the same anonymous id, by 20 customers at once -------------------------------------------


@pytest.mark.postgres
def test_twenty_customers_racing_for_one_anonymous_id_one_wins(
    api: APIClient,
    storefront: Storefront,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
) -> None:
    # given 20 customers with a cart of 1 CAP each, and an anonymous cart of 2 MUG
    customer_ids = [customer_shopper(f"auth0|racer-{n}").customer_id for n in range(RACERS)]
    for customer_id in customer_ids:
        cart_line_add(owner=customer_owner(storefront, customer_id), sku="CAP", quantity=1)
    anonymous_id = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
    cart_line_add(owner=anonymous_owner(storefront, anonymous_id), sku="MUG", quantity=2)
    before = {customer_id: customer_rows([customer_id]) for customer_id in customer_ids}

    # when they all migrate it at once
    outcome = race([migration_of(storefront, anonymous_id, c) for c in customer_ids])

    # then exactly one won, the 19 others were refused with 4010
    assert outcome.other_errors == []
    assert len(outcome.returned) == 1
    winner = outcome.returned[0]
    assert winner.repeated is False
    assert winner.lines == [report_line("MUG", "moved", anonymous=2, customer=0, quantity=2)]
    assert sorted(error.code.number for error in outcome.domain_errors) == [4010] * 19
    # and only the winner's cart changed
    record = CartMigration.objects.get()
    assert str(record.customer_id) == winner.customer_id
    assert cart_quantities(customer_cart(winner.customer_id)) == {"CAP": 1, "MUG": 2}
    losers = [c for c in customer_ids if c != winner.customer_id]
    assert len(losers) == 19
    assert {c: customer_rows([c]) for c in losers} == {c: before[c] for c in losers}


# --- add-to-cart racing a migration -----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("anonymous_quantity", [2, 0], ids=["cart", "first-add-creates-the-cart"])
def test_an_add_to_the_anonymous_cart_racing_the_migration_is_merged_or_refused(
    api: APIClient,
    storefront: Storefront,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
    anonymous_quantity: int,
) -> None:
    # given the sum policy, and rounds of a customer cart of 1 MUG and an anonymous cart of
    # 2 MUG (or no anonymous cart yet)
    storefront_policy(storefront, merge="sum")
    refused_rounds = 0
    for round_number, delay in enumerate(ADD_DELAYS):
        customer_id = customer_shopper(f"auth0|round-{round_number}").customer_id
        anonymous_id = f"5e6f7a8b-9c0d-4e1f-8a2b-{round_number:012d}"
        anonymous = anonymous_owner(storefront, anonymous_id)
        cart_line_add(owner=customer_owner(storefront, customer_id), sku="MUG", quantity=1)
        if anonymous_quantity:
            cart_line_add(owner=anonymous, sku="MUG", quantity=anonymous_quantity)

        # when the shopper adds 1 MUG to the anonymous cart while it is migrated
        outcome = race(
            [
                migration_of(storefront, anonymous_id, customer_id),
                add_of(anonymous, "MUG", 1, delay=delay),
            ]
        )

        # then the add either came first and was merged, or came after and was refused: never
        # lost, never doubled, and no anonymous cart left open
        assert outcome.other_errors == []
        migrations = [r for r in outcome.returned if isinstance(r, MigrationResult)]
        assert len(migrations) == 1
        added = "added" in outcome.returned
        if added:
            assert outcome.domain_errors == []
        else:
            assert [error.code.number for error in outcome.domain_errors] == [4011]
            refused_rounds += 1
        moved = anonymous_quantity + (1 if added else 0)
        expected = (
            [report_line("MUG", "merged", anonymous=moved, customer=1, quantity=1 + moved)]
            if moved
            else []
        )
        assert migrations[0].lines == expected
        assert cart_quantities(customer_cart(customer_id)) == {"MUG": 1 + moved}
        anonymous_carts = Cart.objects.filter(anonymous_id=anonymous_id)
        assert [(cart.status, cart_quantities(cart)) for cart in anonymous_carts] == (
            [("merged", {"MUG": moved})] if moved else []
        )
    # an add that started a quarter second late met a retired anonymous id
    assert refused_rounds >= 1


@pytest.mark.postgres
@pytest.mark.parametrize("customer_has_cart", [True, False], ids=["merge", "adopt"])
def test_an_add_to_the_customer_cart_racing_the_migration_is_kept(
    api: APIClient,
    storefront: Storefront,
    catalog: Catalog,
    customer_shopper: CustomerShopper,
    customer_has_cart: bool,
) -> None:
    # given the sum policy, and rounds of an anonymous cart of 2 MUG and a customer cart of
    # 1 MUG (or none yet)
    storefront_policy(storefront, merge="sum")
    for round_number, delay in enumerate(ADD_DELAYS):
        customer_id = customer_shopper(f"auth0|round-{round_number}").customer_id
        anonymous_id = f"9a8b7c6d-5e4f-4a3b-8c2d-{round_number:012d}"
        customer = customer_owner(storefront, customer_id)
        if customer_has_cart:
            cart_line_add(owner=customer, sku="MUG", quantity=1)
        cart_line_add(owner=anonymous_owner(storefront, anonymous_id), sku="MUG", quantity=2)

        # when the customer adds 5 MUG to their cart while the anonymous cart is migrated
        outcome = race(
            [
                migration_of(storefront, anonymous_id, customer_id),
                add_of(customer, "MUG", 5, delay=delay),
            ]
        )

        # then both happened, in one order or the other: the customer has every MUG
        assert outcome.other_errors == []
        assert outcome.domain_errors == []
        assert len(outcome.returned) == 2
        assert cart_quantities(customer_cart(customer_id)) == {
            "MUG": (1 if customer_has_cart else 0) + 2 + 5
        }
        assert Cart.objects.filter(customer_id=customer_id, status="open").count() == 1
        assert CartMigration.objects.filter(anonymous_id=anonymous_id).count() == 1
