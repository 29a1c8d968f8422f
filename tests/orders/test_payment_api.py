"""The Payment API: a payment provider reads an order and reports events; the payment status
is derived from them by the orders' state machine; replays are answered, never applied twice."""

from __future__ import annotations

from typing import Any

import pytest

from orders.models import Order, OrderStatusChange, PaymentEvent
from tests.conftest import Shopper, Storefront, assert_problem, iso, problem
from tests.identity.api_keys_common import IssuedKey
from tests.orders.order_fixtures import guest_checkout

OCCURRED = "2026-12-03T12:00:00Z"
NUMBER = "ACME-000001"
EVENTS = f"/payment/orders/{NUMBER}/events"


@pytest.fixture
def order(api: Any, carted_guest: Shopper) -> Order:
    """A placed order of 43.00 EUR."""
    answer = guest_checkout(api, carted_guest)
    assert answer.status_code == 201, answer.content
    return Order.objects.get(number=NUMBER)


counter = iter(range(1, 10_000))


def event(
    api: Any,
    key: IssuedKey,
    kind: str,
    amount: str,
    *,
    psp: str | None = None,
    idempotency_key: str | None = None,
    path: str = EVENTS,
    **more: Any,
) -> Any:
    number = next(counter)
    body = {
        "type": kind,
        "amount": amount,
        "currency": "EUR",
        "pspReference": psp or f"psp-{number}",
        "occurredAt": OCCURRED,
        **more,
    }
    return api.post(
        path,
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=idempotency_key or f"idem-{number}",
        **key.headers(),
    )


def snapshot() -> list[Any]:
    return [
        list(Order.objects.order_by("pk").values()),
        list(PaymentEvent.objects.order_by("pk").values()),
        list(OrderStatusChange.objects.order_by("pk").values()),
    ]


def payment_status(order: Order) -> str:
    order.refresh_from_db()
    return order.payment_status


def test_authorized_then_captured_in_full_makes_the_order_paid(
    api: Any, order: Order, payment_key: IssuedKey
) -> None:
    authorized = event(api, payment_key, "authorized", "43.00", psp="auth-1")
    assert authorized.status_code == 201, authorized.content
    captured = event(api, payment_key, "captured", "43.00", psp="cap-1")
    assert captured.status_code == 201
    assert payment_status(order) == "captured"
    read = api.get(f"/payment/orders/{NUMBER}", **payment_key.headers())
    assert read.status_code == 200
    received = list(PaymentEvent.objects.order_by("pk").values_list("received_at", flat=True))
    assert read.json() == {
        "orderNumber": NUMBER,
        "total": "43.00",
        "currency": "EUR",
        "status": "placed",
        "paymentStatus": "captured",
        "authorizedAmount": "43.00",
        "capturedAmount": "43.00",
        "refundedAmount": "0.00",
        "events": [
            {
                "type": "authorized",
                "amount": "43.00",
                "currency": "EUR",
                "pspReference": "auth-1",
                "occurredAt": OCCURRED,
                "receivedAt": iso(received[0]),
            },
            {
                "type": "captured",
                "amount": "43.00",
                "currency": "EUR",
                "pspReference": "cap-1",
                "occurredAt": OCCURRED,
                "receivedAt": iso(received[1]),
            },
        ],
    }
    assert captured.json() == {
        "alreadyProcessed": False,
        "event": read.json()["events"][1],
        "order": read.json(),
    }
    history = list(
        OrderStatusChange.objects.filter(field="payment_status").values_list(
            "from_value", "to_value", "actor"
        )
    )
    actor = f"payment:acme-pay:{payment_key.key_id}"
    assert history == [("pending", "authorized", actor), ("authorized", "captured", actor)]


def test_partial_captures_and_refunds_add_up(
    api: Any, order: Order, payment_key: IssuedKey
) -> None:
    assert event(api, payment_key, "authorized", "43.00").status_code == 201
    assert event(api, payment_key, "captured", "20.00").status_code == 201
    assert payment_status(order) == "authorized"  # not paid yet
    assert event(api, payment_key, "captured", "23.00").status_code == 201
    assert payment_status(order) == "captured"
    assert event(api, payment_key, "refunded", "10.00").status_code == 201
    assert payment_status(order) == "partially_refunded"
    assert event(api, payment_key, "refunded", "13.00").json()["order"]["refundedAmount"] == "23.00"
    assert payment_status(order) == "partially_refunded"
    answer = event(api, payment_key, "refunded", "20.00")
    assert answer.status_code == 201
    assert answer.json()["order"]["paymentStatus"] == "refunded"


CAPTURE_ABOVE = problem(
    "capture_exceeds_authorized",
    "Capture above the authorized amount",
    409,
    "Captured 43.01 would exceed the authorized 43.00. Nothing was recorded.",
    5101,
)


def test_capture_above_authorized_and_refund_above_captured_are_409s_with_nothing_written(
    api: Any, order: Order, payment_key: IssuedKey
) -> None:
    before = snapshot()
    assert event(api, payment_key, "captured", "1.00").json()["code"] == 5101  # nothing authorized
    assert snapshot() == before
    event(api, payment_key, "authorized", "43.00")
    before = snapshot()
    assert_problem(event(api, payment_key, "captured", "43.01"), CAPTURE_ABOVE)
    assert snapshot() == before
    event(api, payment_key, "captured", "30.00")
    before = snapshot()
    answer = event(api, payment_key, "refunded", "30.01")
    assert answer.status_code == 409
    assert answer.json()["code"] == 5102
    assert snapshot() == before


def test_a_move_the_state_machine_refuses_is_a_409(
    api: Any, order: Order, payment_key: IssuedKey
) -> None:
    before = snapshot()
    answer = event(api, payment_key, "voided", "43.00")  # nothing to void
    assert answer.status_code == 409
    assert answer.json()["code"] == 5007
    assert snapshot() == before
    event(api, payment_key, "failed", "43.00")
    assert payment_status(order) == "failed"
    event(api, payment_key, "authorized", "43.00")
    event(api, payment_key, "voided", "43.00")
    assert payment_status(order) == "voided"


def test_another_currency_is_a_400_and_nothing_is_recorded(
    api: Any, order: Order, payment_key: IssuedKey
) -> None:
    before = snapshot()
    answer = event(api, payment_key, "authorized", "43.00", currency="USD")
    assert answer.status_code == 400
    assert answer.json()["code"] == 5100
    assert answer.json()["errors"][0]["field"] == "currency"
    assert snapshot() == before


def test_the_same_psp_reference_and_type_is_already_processed(
    api: Any, order: Order, payment_key: IssuedKey
) -> None:
    first = event(api, payment_key, "authorized", "43.00", psp="psp-A")
    again = event(api, payment_key, "authorized", "43.00", psp="psp-A")  # another key
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["alreadyProcessed"] is True
    assert again.json()["event"] == first.json()["event"]
    assert PaymentEvent.objects.count() == 1
    # Another type with that reference is another event.
    assert event(api, payment_key, "captured", "43.00", psp="psp-A").status_code == 201


def test_the_same_idempotency_key_and_body_is_200_already_processed_and_another_body_422(
    api: Any, order: Order, payment_key: IssuedKey
) -> None:
    first = event(api, payment_key, "authorized", "43.00", psp="p1", idempotency_key="K")
    again = event(api, payment_key, "authorized", "43.00", psp="p1", idempotency_key="K")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "alreadyProcessed": True}
    assert again["Idempotent-Replayed"] == "true"
    before = snapshot()
    other = event(api, payment_key, "authorized", "40.00", psp="p1", idempotency_key="K")
    assert other.status_code == 422
    assert other.json()["code"] == 1052
    assert snapshot() == before


def test_another_tenants_order_or_an_unknown_number_is_a_404(
    api: Any, order: Order, other_storefront: Storefront
) -> None:
    from tests.identity.api_keys_common import issue_payment_key

    other_key = issue_payment_key(other_storefront)
    before = snapshot()
    not_found = problem(
        "payment_order_not_found",
        "Order not found",
        404,
        "The tenant has no order with this number.",
        5103,
    )
    assert_problem(api.get(f"/payment/orders/{NUMBER}", **other_key.headers()), not_found)
    assert_problem(event(api, other_key, "authorized", "43.00"), not_found)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "chargeback"}, "type"),
        ({"amount": 43}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"occurredAt": "yesterday"}, "occurredAt"),
        ({"pspReference": ""}, "pspReference"),
        ({"paymentStatus": "captured"}, "paymentStatus"),
    ],
)
def test_an_invalid_event_is_a_400_naming_the_field(
    api: Any, order: Order, payment_key: IssuedKey, change: dict[str, Any], field: str
) -> None:
    before = snapshot()
    body = {
        "type": "authorized",
        "amount": "43.00",
        "currency": "EUR",
        "pspReference": "x",
        "occurredAt": OCCURRED,
        **change,
    }
    answer = api.post(
        EVENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="k", **payment_key.headers()
    )
    assert answer.status_code == 400, answer.content
    assert [error["field"] for error in answer.json()["errors"]] == [field]
    assert snapshot() == before
