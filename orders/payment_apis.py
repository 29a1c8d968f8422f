"""The Payment API (``/payment/``): payment providers read orders and report payment events,
with an API key of the payment surface (``ApiKey`` header). A provider's key reads and reports
on every order of its tenant; another tenant's order is a 404."""

from __future__ import annotations

import json
from decimal import Decimal

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.bodies import Body, BodyField, moment, money
from core.errors import DomainError
from core.fields import ClosedSerializer, PositiveMoneyField
from core.idempotency import (
    IdempotentAnswer,
    idempotency_key_read,
    idempotent_perform,
    idempotent_response,
)
from core.openapi import idempotency_key_parameter, problems
from identity.http.authentication import ApiKeyAuthentication, principal_of
from identity.http.openapi import TENANT_HEADER
from identity.http.permissions import IsPaymentKey
from identity.http.throttles import ApiKeyThrottle
from identity.scopes import PAYMENT_EVENTS_WRITE, PAYMENT_ORDERS_READ
from orders import errors
from orders.models import Order, OrderStatus, PaymentEvent, PaymentStatus
from orders.selectors import order_get_for_payment
from orders.services import PaymentTotals, payment_event_apply
from orders.states import PaymentEventKind

EVENT_OPERATION = "payment.event"

PAYMENT_EVENT = Body(
    "PaymentEvent",
    {
        "type": BodyField(
            serializers.ChoiceField(choices=[kind.value for kind in PaymentEventKind]),
            lambda event: event.kind,
        ),
        "amount": money(lambda event: event.amount),
        "currency": BodyField(serializers.CharField(), lambda event: event.currency),
        "pspReference": BodyField(serializers.CharField(), lambda event: event.psp_reference),
        "occurredAt": moment(lambda event: event.occurred_at),
        "receivedAt": moment(lambda event: event.received_at),
    },
)


class PaymentView:
    """An order as the Payment API shows it: the order, its totals by kind, its events."""

    def __init__(self, order: Order, events: list[PaymentEvent], totals: PaymentTotals) -> None:
        self.order = order
        self.events = events
        self.totals = totals


PAYMENT_ORDER = Body(
    "PaymentOrder",
    {
        "orderNumber": BodyField(serializers.CharField(), lambda view: view.order.number),
        "total": money(lambda view: view.order.total),
        "currency": BodyField(serializers.CharField(), lambda view: view.order.currency),
        "status": BodyField(
            serializers.ChoiceField(choices=OrderStatus.values), lambda view: view.order.status
        ),
        "paymentStatus": BodyField(
            serializers.ChoiceField(
                choices=PaymentStatus.values,
                help_text="Derived from the events; captured: paid in full.",
            ),
            lambda view: view.order.payment_status,
        ),
        "authorizedAmount": money(lambda view: view.totals.authorized),
        "capturedAmount": money(lambda view: view.totals.captured),
        "refundedAmount": money(lambda view: view.totals.refunded),
        "events": PAYMENT_EVENT.many(lambda view: view.events),
    },
)
PAYMENT_EVENT_ANSWER = Body(
    "PaymentEventAnswer",
    {
        "alreadyProcessed": BodyField(
            serializers.BooleanField(
                help_text="true: this event (its type and pspReference, or this "
                "Idempotency-Key and body) was recorded before; nothing was done now."
            ),
            lambda answer: answer["alreadyProcessed"],
        ),
        "event": PAYMENT_EVENT.one(lambda answer: answer["event"]),
        "order": PAYMENT_ORDER.one(lambda answer: answer["order"]),
    },
)


_AUTH_ERRORS = problems(
    _401="No valid API key (missing, malformed, unknown, expired, revoked, of another tenant "
    "than X-Tenant), or another credential sent.",
    _403="A supplier key, a key without the scope, or the tenant has the Payment API off.",
    _429="Too many requests for this key; see Retry-After.",
)


class _PaymentApi(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsPaymentKey]
    throttle_classes = [ApiKeyThrottle]


def _payment_view(order: Order, events: list[PaymentEvent] | None = None) -> PaymentView:
    if events is None:
        events = list(PaymentEvent.objects.filter(order=order).order_by("pk"))
    return PaymentView(order=order, events=events, totals=_sum(events))


class PaymentOrderApi(_PaymentApi):
    """GET /payment/orders/{orderNumber}: the order's total, status, payment status, events."""

    required_scope = PAYMENT_ORDERS_READ

    @extend_schema(
        operation_id="payment_order_get",
        parameters=[TENANT_HEADER],
        responses={
            200: PAYMENT_ORDER.schema,
            **_AUTH_ERRORS,
            **problems(_404="The tenant has no order with this number."),
        },
        tags=["payment"],
    )
    def get(self, request: Request, orderNumber: str) -> Response:
        order = order_get_for_payment(tenant_id=principal_of(request).tenant_id, number=orderNumber)
        if order is None:
            raise DomainError(errors.PAYMENT_ORDER_NOT_FOUND)
        return Response(
            PAYMENT_ORDER.render(_payment_view(order, list(order.payment_events.all())))
        )


def _sum(events: list[PaymentEvent]) -> PaymentTotals:
    def total(kind: PaymentEventKind) -> Decimal:
        return sum((event.amount for event in events if event.kind == kind), Decimal("0.00"))

    return PaymentTotals(
        authorized=total(PaymentEventKind.AUTHORIZED),
        captured=total(PaymentEventKind.CAPTURED),
        refunded=total(PaymentEventKind.REFUNDED),
    )


class PaymentEventsApi(_PaymentApi):
    """POST /payment/orders/{orderNumber}/events (Idempotency-Key): report a payment event."""

    required_scope = PAYMENT_EVENTS_WRITE

    class InputSerializer(ClosedSerializer):
        unknown_field_message = "Not a field of a payment event."

        type = serializers.ChoiceField(choices=[kind.value for kind in PaymentEventKind])
        amount = PositiveMoneyField(help_text="A decimal string in the order's currency, above 0.")
        currency = serializers.RegexField(r"^[A-Z]{3}$", help_text="The order's currency.")
        pspReference = serializers.CharField(
            max_length=200, help_text="The provider's reference of this event."
        )
        occurredAt = serializers.DateTimeField(help_text="When it happened at the provider.")

    @extend_schema(
        operation_id="payment_event_create",
        parameters=[TENANT_HEADER, idempotency_key_parameter("this event")],
        request=InputSerializer,
        responses={
            201: OpenApiResponse(PAYMENT_EVENT_ANSWER.schema, description="Recorded."),
            200: OpenApiResponse(
                PAYMENT_EVENT_ANSWER.schema,
                description="Recorded before (alreadyProcessed: true); nothing done.",
            ),
            **_AUTH_ERRORS,
            **problems(
                _400="Invalid body (named in errors[]), another currency than the order's, "
                "Idempotency-Key missing or invalid. Nothing recorded.",
                _404="The tenant has no order with this number.",
                _409="Capture above authorized (5101), refund above captured (5102), a move "
                "the payment state machine refuses (5007), or a request with this "
                "Idempotency-Key in progress (1053). Nothing recorded.",
                _422="The Idempotency-Key was used with another body.",
            ),
        },
        tags=["payment"],
    )
    def post(self, request: Request, orderNumber: str) -> HttpResponse:
        key = idempotency_key_read(request.META.get("HTTP_IDEMPOTENCY_KEY"))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        principal = principal_of(request)

        def report() -> IdempotentAnswer:
            applied = payment_event_apply(
                tenant_id=principal.tenant_id,
                order_number=orderNumber,
                kind=PaymentEventKind(data["type"]),
                amount=data["amount"],
                currency=data["currency"],
                psp_reference=data["pspReference"],
                occurred_at=data["occurredAt"],
                actor=f"payment:{principal.party_id}:{principal.subject_id}",
            )
            body = PAYMENT_EVENT_ANSWER.render(
                {
                    "alreadyProcessed": applied.already_processed,
                    "event": applied.event,
                    "order": _payment_view(applied.order),
                }
            )
            return IdempotentAnswer(
                status=200 if applied.already_processed else 201,
                body=JSONRenderer().render(body).decode(),
                headers={"Content-Type": "application/json"},
            )

        answer = idempotent_perform(
            tenant_id=principal.tenant_id,
            caller=f"payment:{principal.party_id}",
            key=key,
            operation=EVENT_OPERATION,
            payload={"order": orderNumber, "event": request.data},
            perform=report,
        )
        if answer.replayed:
            # The same key and body again: the event was recorded by the first request.
            body = json.loads(answer.body)
            body["alreadyProcessed"] = True
            answer = IdempotentAnswer(
                status=200,
                body=JSONRenderer().render(body).decode(),
                headers=answer.headers,
                replayed=True,
            )
        return idempotent_response(answer)
