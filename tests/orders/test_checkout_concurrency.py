"""Checkouts at once, with real threads, each on its own database connection (PostgreSQL: row
locks and the unique index on idempotency keys decide; SQLite would only queue the threads).

- 20 shoppers holding the last units: exactly as many orders as units, stock 0, the others a
  clear 400 naming the line, no 5xx;
- one Idempotency-Key 20 times at once: one order, 20 equal answers;
- 20 keys on one cart at once: one order, 19 answers "already ordered";
- a checkout racing a change of its cart: the order holds what it locked, the change is kept;
- a request waiting for another one with its key past IDEMPOTENCY_WAIT_SECONDS: 409 (1053).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

import carts.services
import orders.apis
import orders.services.placement
from carts.models import Cart, CartLine
from carts.owners import CartOwner
from carts.services import cart_line_add
from catalog.models import Product
from core.models import IdempotencyRecord
from orders.models import Order, OrderLine
from tests.carts.migration_fixtures import answers_of, lines_add
from tests.conftest import Shopper, Storefront, anonymous_shopper
from tests.factories import ProductFactory
from tests.orders.order_fixtures import GUEST_EMAIL, guest_checkout, order_line

THREADS = 20
UNITS = 5

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_shoppers_for_the_last_units_make_as_many_orders_as_units(
    storefront: Storefront, products: dict[str, Product]
) -> None:
    # given 5 units left of LAST and 20 shoppers each holding one of them (and a MUG)
    ProductFactory(tenant=storefront.tenant, sku="LAST", unit_price="30.00", stock=UNITS)
    shoppers = [anonymous_shopper(APIClient(), storefront.key) for _ in range(THREADS)]
    for shopper in shoppers:
        lines_add(APIClient(), shopper, MUG=1, LAST=1)

    # when they all check out at once
    answers = answers_of(
        [lambda shopper=shopper: guest_checkout(APIClient(), shopper) for shopper in shoppers]
    )

    # then exactly 5 orders were placed, the stock is 0, and the others were told why
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: UNITS, 400: THREADS - UNITS}, [a.content for a in answers]
    assert Product.objects.get(sku="LAST").stock == 0
    assert Order.objects.count() == UNITS
    assert OrderLine.objects.filter(sku="LAST").count() == UNITS
    assert sorted(Order.objects.values_list("sequence", flat=True)) == list(range(1, UNITS + 1))
    for answer in answers:
        if answer.status_code == 400:
            body = answer.json()
            assert body["code"] == 5003
            assert body["errors"] == [
                {
                    "field": "lines.LAST",
                    "code": "quantity_above_stock",
                    "message": "Only 0 of 'LAST' in stock; the line holds 1.",
                }
            ]
    # the losers' carts are still open, as they were
    assert Cart.objects.filter(status="open").count() == THREADS - UNITS
    assert Cart.objects.filter(status="ordered").count() == UNITS


def test_one_key_twenty_times_at_once_makes_one_order(
    storefront: Storefront, carted_guest: Shopper
) -> None:
    # when the same checkout is sent 20 times at once with one key
    answers = answers_of(
        [lambda: guest_checkout(APIClient(), carted_guest, key="double-click")] * THREADS
    )

    # then one order was placed, and every request got its answer
    assert [answer.status_code for answer in answers] == [201] * THREADS
    assert len({answer.content for answer in answers}) == 1
    replayed = sorted(answer.get("Idempotent-Replayed", "") for answer in answers)
    assert replayed == [""] + ["true"] * (THREADS - 1)
    assert Order.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert Product.objects.get(sku="CAP").stock == 2


def test_twenty_keys_on_one_cart_at_once_make_one_order(
    storefront: Storefront, carted_guest: Shopper
) -> None:
    answers = answers_of(
        [
            lambda index=index: guest_checkout(APIClient(), carted_guest, key=f"key-{index}")
            for index in range(THREADS)
        ]
    )

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: 1, 409: THREADS - 1}
    assert {answer.json()["code"] for answer in answers if answer.status_code == 409} == {5002}
    assert Order.objects.count() == 1
    assert Product.objects.get(sku="CAP").stock == 2


class Pause:
    """Makes a call stop at a point until released, telling when it got there."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def paused(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            self.reached.set()
            assert self.release.wait(30)
            return result

        return paused


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    from django.db import connection

    result: list[Any] = []

    def run() -> None:
        try:
            result.append(call())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_a_change_waiting_for_the_checkout_goes_to_a_new_cart(
    storefront: Storefront, carted_guest: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a checkout that has locked the cart (and read its lines) and is not done yet
    pause = Pause()
    placement = orders.services.placement
    monkeypatch.setattr(placement, "_order_place", pause.wrap(placement._order_place))
    checkout_thread, checkout_answer = in_thread(lambda: guest_checkout(APIClient(), carted_guest))
    assert pause.reached.wait(30)

    # when the shopper adds a TEE meanwhile
    owner = CartOwner(tenant_id=storefront.tenant.pk, anonymous_id=carted_guest.anonymous_id)
    add_thread, _ = in_thread(lambda: cart_line_add(owner=owner, sku="TEE", quantity=1))
    time.sleep(0.5)
    assert add_thread.is_alive(), "the add must wait for the checkout's lock"
    pause.release.set()
    checkout_thread.join(30)
    add_thread.join(30)

    # then the order holds what the checkout locked, and the TEE is in a new open cart
    assert checkout_answer[0].status_code == 201, checkout_answer[0].content
    assert checkout_answer[0].json()["lines"] == [
        order_line("MUG", 2, "9.50"),
        order_line("CAP", 1, "24.00"),
    ]
    ordered = Cart.objects.get(status="ordered")
    assert list(CartLine.objects.filter(cart=ordered).values_list("product__sku", "quantity")) == [
        ("MUG", 2),
        ("CAP", 1),
    ]
    new_cart = Cart.objects.get(status="open", anonymous_id=carted_guest.anonymous_id)
    assert list(CartLine.objects.filter(cart=new_cart).values_list("product__sku", "quantity")) == [
        ("TEE", 1)
    ]


def test_a_checkout_waiting_for_a_change_orders_the_changed_cart(
    storefront: Storefront, carted_guest: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an add of a TEE that holds the cart's lock and is not committed yet
    pause = Pause()
    monkeypatch.setattr(carts.services, "_touch", pause.wrap(carts.services._touch))
    owner = CartOwner(tenant_id=storefront.tenant.pk, anonymous_id=carted_guest.anonymous_id)
    add_thread, _ = in_thread(lambda: cart_line_add(owner=owner, sku="TEE", quantity=1))
    assert pause.reached.wait(30)

    # when the shopper checks out meanwhile
    checkout_thread, checkout_answer = in_thread(lambda: guest_checkout(APIClient(), carted_guest))
    time.sleep(0.5)
    assert checkout_thread.is_alive(), "the checkout must wait for the add's lock"
    pause.release.set()
    add_thread.join(30)
    checkout_thread.join(30)

    # then the order holds the cart as the add left it
    assert checkout_answer[0].status_code == 201, checkout_answer[0].content
    assert [line["sku"] for line in checkout_answer[0].json()["lines"]] == ["MUG", "CAP", "TEE"]
    assert not Cart.objects.filter(status="open").exists()


def test_a_request_waiting_too_long_for_its_key_is_409_in_progress(
    storefront: Storefront,
    carted_guest: Shopper,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    # given a checkout with key K that is still running
    settings.IDEMPOTENCY_WAIT_SECONDS = 1
    pause = Pause()
    monkeypatch.setattr(
        orders.apis, "order_place_from_cart", pause.wrap(orders.apis.order_place_from_cart)
    )
    first_thread, first = in_thread(lambda: guest_checkout(APIClient(), carted_guest, key="K"))
    assert pause.reached.wait(30)

    # when a retry with K waits for it longer than a second
    started = time.monotonic()
    retry = guest_checkout(APIClient(), carted_guest, key="K")

    # then the retry is told to come back, and nothing was done twice
    assert retry.status_code == 409, retry.content
    assert retry.json()["code"] == 1053
    assert 0.9 < time.monotonic() - started < 10
    pause.release.set()
    first_thread.join(30)
    assert first[0].status_code == 201
    again = guest_checkout(APIClient(), carted_guest, key="K")
    assert again.content == first[0].content
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert GUEST_EMAIL in again.content.decode()
