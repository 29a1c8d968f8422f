"""Idempotency-Key on the checkout, and the helper behind it (core/idempotency.py): required,
1-255 printable ASCII; a retry gets the first answer and nothing is done twice; the same key
with another body is a 422; refusals and failures are not stored; records are kept a day."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

import orders.apis
from carts.models import Cart
from catalog.models import Product
from core.idempotency import idempotency_records_purge, request_hash
from core.models import IdempotencyRecord
from orders.models import Order
from tests.carts.migration_fixtures import lines_add
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    assert_problem,
    problem,
    run_command,
    tables_snapshot,
)
from tests.identity.provider_fixtures import CustomerSession
from tests.orders.order_fixtures import (
    GUEST_EMAIL,
    KEY_REUSED,
    ORDERS_URL,
    checkout,
    guest_checkout,
)

pytestmark = pytest.mark.django_db

KEY_MISSING_MESSAGE = "An Idempotency-Key header is required."
KEY_INVALID_MESSAGE = "Use 1-255 printable ASCII characters."


def key_missing() -> dict[str, Any]:
    return problem(
        "idempotency_key_missing",
        "Idempotency-Key required",
        400,
        KEY_MISSING_MESSAGE,
        1050,
        [
            {
                "field": "Idempotency-Key",
                "code": "idempotency_key_missing",
                "message": KEY_MISSING_MESSAGE,
            }
        ],
    )


KEY_INVALID = problem(
    "idempotency_key_invalid",
    "Invalid Idempotency-Key",
    400,
    KEY_INVALID_MESSAGE,
    1051,
    [
        {
            "field": "Idempotency-Key",
            "code": "idempotency_key_invalid",
            "message": KEY_INVALID_MESSAGE,
        }
    ],
)


# --- the key -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, ""], ids=["absent", "empty"])
def test_a_checkout_without_a_key_is_400(
    api: APIClient, carted_guest: Shopper, key: str | None
) -> None:
    before = tables_snapshot()

    answer = guest_checkout(api, carted_guest, key=key)

    assert_problem(answer, key_missing())
    assert tables_snapshot() == before


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "tab\there", "del\x7f", "caf\u00e9", "line\x00", "   "],
    ids=["256 characters", "tab", "DEL", "non-ASCII", "NUL", "spaces only"],
)
def test_a_key_that_is_not_printable_ascii_or_too_long_is_400(
    api: APIClient, carted_guest: Shopper, key: str
) -> None:
    before = tables_snapshot()

    answer = guest_checkout(api, carted_guest, key=key)

    assert_problem(answer, KEY_INVALID)
    assert tables_snapshot() == before


@pytest.mark.parametrize("key", ["k" * 255, "x", '8e03978e-40d5 43e8~!"#{}'], ids=str)
def test_keys_of_1_to_255_printable_characters_are_taken(
    api: APIClient, carted_guest: Shopper, key: str
) -> None:
    answer = guest_checkout(api, carted_guest, key=key)

    assert answer.status_code == 201, answer.content
    assert IdempotencyRecord.objects.get().key == key


# --- replays -----------------------------------------------------------------------------------


def test_a_retry_gets_the_first_answer_and_nothing_is_done_twice(
    api: APIClient, carted_guest: Shopper
) -> None:
    # given a checkout that succeeded
    first = guest_checkout(api, carted_guest, key="retry-me")
    assert first.status_code == 201
    after_first = tables_snapshot()

    # when the client, not knowing it did, sends it again, body spaced and ordered otherwise
    again = api.post(
        ORDERS_URL,
        json.dumps({"email": GUEST_EMAIL}, indent=4),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="retry-me",
        **carted_guest.headers(),
    )

    # then it gets the same status, body and headers, marked as replayed, and nothing changed
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Location"] == first["Location"]
    assert again["Content-Type"] == "application/json"
    assert again["Idempotent-Replayed"] == "true"
    assert tables_snapshot() == after_first
    assert Order.objects.count() == 1
    assert Product.objects.get(sku="CAP").stock == 2


def test_a_retry_after_the_cart_changed_still_answers_the_first_order(
    api: APIClient, carted_guest: Shopper
) -> None:
    # given a checkout, and a new cart filled since
    first = guest_checkout(api, carted_guest, key="retry-me")
    lines_add(api, carted_guest, TEE=1)

    # when the first checkout is retried
    again = guest_checkout(api, carted_guest, key="retry-me")

    # then it is the first order again; the new cart is not ordered
    assert again.content == first.content
    assert Order.objects.count() == 1
    assert Cart.objects.filter(anonymous_id=carted_guest.anonymous_id, status="open").exists()


def test_the_same_key_with_another_body_is_422(api: APIClient, carted_guest: Shopper) -> None:
    assert guest_checkout(api, carted_guest, key="once").status_code == 201
    before = tables_snapshot()

    answer = checkout(api, carted_guest, {"email": "other@example.com"}, key="once")

    assert_problem(answer, KEY_REUSED)
    assert tables_snapshot() == before


def test_another_callers_equal_key_is_another_request(
    api: APIClient, storefront: Storefront, carted_guest: Shopper, products: dict[str, Product]
) -> None:
    # given guest A checked out with a key
    assert guest_checkout(api, carted_guest, key="order-1").status_code == 201
    other = anonymous_shopper(api, storefront.key)
    lines_add(api, other, MUG=1)

    # when guest B uses the same key
    answer = guest_checkout(api, other, key="order-1")

    # then B gets an order of its own, and never A's answer
    assert answer.status_code == 201, answer.content
    assert answer.json()["orderNumber"] == "ACME-000002"
    assert "Idempotent-Replayed" not in answer
    assert IdempotencyRecord.objects.count() == 2


def test_a_customers_key_is_the_customers_in_every_session(
    api: APIClient, carted_customer: CustomerSession, customer_shopper: Any
) -> None:
    first = checkout(api, carted_customer, key="ada-1")

    # when the customer signs in again (a new token, a new context) and retries
    again = checkout(api, customer_shopper("auth0|ada"), key="ada-1")

    assert again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"


# --- what is not stored --------------------------------------------------------------------------


def test_a_refusal_is_not_stored_so_the_retry_is_judged_again(
    api: APIClient, carted_guest: Shopper
) -> None:
    # given a checkout refused for want of stock
    Product.objects.filter(sku="CAP").update(stock=0)
    assert guest_checkout(api, carted_guest, key="keep-trying").status_code == 400
    assert not IdempotencyRecord.objects.exists()

    # when the stock arrives and the shopper retries with the same key
    Product.objects.filter(sku="CAP").update(stock=5)
    answer = guest_checkout(api, carted_guest, key="keep-trying")

    # then the checkout happens now
    assert answer.status_code == 201, answer.content
    assert "Idempotent-Replayed" not in answer
    assert Product.objects.get(sku="CAP").stock == 4


def test_an_outage_during_the_checkout_stores_nothing_and_undoes_everything(
    api: APIClient, carted_guest: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the database connection breaks after the order was written
    place = orders.apis.order_place_from_cart

    def place_then_fail(**kwargs: Any) -> Any:
        place(**kwargs)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(orders.apis, "order_place_from_cart", place_then_fail)
    before = tables_snapshot()

    # when the guest checks out
    answer = guest_checkout(api, carted_guest, key="flaky")

    # then it is a 503 and nothing is left: no order, no record, the cart open, the stock whole
    assert answer.status_code == 503
    assert answer.json()["code"] == 1503
    assert tables_snapshot() == before

    # and the retry with the same key places the order
    monkeypatch.setattr(orders.apis, "order_place_from_cart", place)
    retry = guest_checkout(api, carted_guest, key="flaky")
    assert retry.status_code == 201, retry.content
    assert "Idempotent-Replayed" not in retry


# --- retention -----------------------------------------------------------------------------------


def test_a_record_is_kept_a_day(api: APIClient, carted_guest: Shopper) -> None:
    assert guest_checkout(api, carted_guest).status_code == 201

    record = IdempotencyRecord.objects.get()
    assert record.expires_at - record.created_at >= timedelta(hours=24)
    assert record.expires_at - record.created_at < timedelta(hours=24, seconds=5)
    assert record.operation == "orders.checkout"
    assert record.caller == f"anonymous:{carted_guest.anonymous_id}"
    assert (record.response_status, json.loads(record.response_body)["orderNumber"]) == (
        201,
        "ACME-000001",
    )


def record(*, age: timedelta, retention: timedelta, key: str) -> IdempotencyRecord:
    created = timezone.now() - age
    row = IdempotencyRecord.objects.create(
        tenant_id=1,
        caller="anonymous:x",
        key=key,
        operation="orders.checkout",
        request_hash="0" * 64,
        response_status=201,
        expires_at=created + retention,
    )
    IdempotencyRecord.objects.filter(pk=row.pk).update(created_at=created)
    return row


def test_the_purge_deletes_only_records_past_their_retention() -> None:
    # given records of 25 h and 23 h (retention a day), and one of 23 h whose expiry passed
    old = record(age=timedelta(hours=25), retention=timedelta(hours=24), key="old")
    record(age=timedelta(hours=23), retention=timedelta(hours=24), key="young")
    record(age=timedelta(hours=23), retention=timedelta(hours=1), key="too-short")

    # when the purge runs
    output = run_command("idempotency_purge")

    # then only the one older than a day and past its expiry is gone
    assert output == "Purged 1 idempotency record(s) past their retention (24 h).\n"
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == [
        "too-short",
        "young",
    ]
    assert not IdempotencyRecord.objects.filter(pk=old.pk).exists()
    assert idempotency_records_purge() == 0


def test_the_request_hash_ignores_key_order_but_not_values() -> None:
    base = request_hash(operation="orders.checkout", payload={"a": 1, "b": "x"})

    assert request_hash(operation="orders.checkout", payload={"b": "x", "a": 1}) == base
    assert request_hash(operation="orders.checkout", payload={"a": 2, "b": "x"}) != base
    assert request_hash(operation="payments.event", payload={"a": 1, "b": "x"}) != base
