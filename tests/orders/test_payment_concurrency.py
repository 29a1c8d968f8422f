"""Payment events for one order at once, with real threads on PostgreSQL: the order's row lock
applies them one at a time, so the captures never add up to more than was authorized and a
replayed event is recorded once."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from orders.models import Order, PaymentEvent
from tests.carts.migration_fixtures import race
from tests.conftest import Shopper
from tests.identity.api_keys_common import IssuedKey
from tests.orders.order_fixtures import guest_checkout

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EVENTS = "/payment/orders/ACME-000001/events"


def post_event(key: IssuedKey, kind: str, amount: str, psp: str, idempotency_key: str) -> int:
    answer = APIClient().post(
        EVENTS,
        {
            "type": kind,
            "amount": amount,
            "currency": "EUR",
            "pspReference": psp,
            "occurredAt": "2026-12-03T12:00:00Z",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=idempotency_key,
        **key.headers(),
    )
    return answer.status_code


def test_parallel_captures_are_applied_one_at_a_time(
    carted_guest: Shopper, payment_key: IssuedKey
) -> None:
    assert guest_checkout(APIClient(), carted_guest).status_code == 201  # 43.00
    assert post_event(payment_key, "authorized", "43.00", "auth", "a") == 201
    outcome = race(
        [
            lambda index=index: post_event(
                payment_key, "captured", "5.00", f"c{index}", f"k{index}"
            )
            for index in range(10)
        ]
    )
    assert outcome.errors == []
    assert Counter(outcome.returned) == {201: 8, 409: 2}
    captured = PaymentEvent.objects.filter(kind="captured").aggregate(total=Sum("amount"))
    assert captured["total"] == Decimal("40.00")


def test_one_event_replayed_at_once_is_recorded_once(
    carted_guest: Shopper, payment_key: IssuedKey
) -> None:
    assert guest_checkout(APIClient(), carted_guest).status_code == 201
    outcome = race(
        [
            lambda index=index: post_event(payment_key, "authorized", "43.00", "same", f"k{index}")
            for index in range(10)
        ]
    )
    assert outcome.errors == []
    assert Counter(outcome.returned) == {201: 1, 200: 9}
    assert PaymentEvent.objects.count() == 1
    assert Order.objects.get().payment_status == "authorized"
