"""POST /commerceapi/cart/migrate: what a migration does to both carts and what it answers, exactly
once, what is left of the anonymous session afterwards, and what it tells others.

Here: the customer has no cart; nothing to migrate; exactly once; after the migration; the log
line and the event hook. The other parts of the suite: test_migration_merge.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from carts.models import Cart, CartMigration
from carts.owners import CartOwner
from carts.services import cart_line_add
from catalog.models import Product
from core.errors import DomainError
from identity.credentials.revocation import anonymous_revocation_key
from identity.models import Revocation
from tests.carts.migration_api_common import (
    CaptureOnCommit,
    Catalog,
)
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
