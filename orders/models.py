"""Orders: what was sold, to whom, and where it stands.

An order is a snapshot: its lines keep the SKU, name, unit price and quantity as sold, so later
catalog changes never alter it. It knows its buyer only as ids and values (a customer id, the
anonymous id of a guest's session, an e-mail; for a partner's order the partner's id, its
customer's name and its reference), never as a model of the identity app. Orders are never
deleted; their state changes only through ``orders.states`` and are kept as history.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    CAPTURED = "captured", "Captured"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    VOIDED = "voided", "Voided"
    FAILED = "failed", "Failed"


class OrderChannel(models.TextChoices):
    """Which surface the order came through."""

    STOREFRONT = "storefront", "Storefront (a shopper's cart)"
    RESELLER = "reseller", "Reseller (a partner's lines)"


class OrderNumberCounter(models.Model):
    """The last order number given in a tenant. Taking the next one updates this row, so numbers
    are sequential per tenant and a rolled-back checkout gives its number back."""

    tenant = models.OneToOneField(
        settings.TENANT_MODEL, on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.last_number}"


class Order(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.PROTECT, related_name="+")
    # "<TENANT>-000001": the tenant's slug in capitals and the sequence number.
    number = models.CharField(max_length=80)
    sequence = models.PositiveBigIntegerField()
    channel = models.CharField(
        max_length=16, choices=OrderChannel.choices, default=OrderChannel.STOREFRONT
    )
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    payment_status = models.CharField(
        max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    currency = models.CharField(max_length=3)
    item_count = models.PositiveIntegerField()
    subtotal = models.DecimalField(max_digits=14, decimal_places=2)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    email = models.EmailField(blank=True)
    # The buyer: a customer, or a guest by the anonymous id of the session it ordered in.
    customer_id = models.UUIDField(null=True, blank=True)
    anonymous_id = models.UUIDField(null=True, blank=True)
    storefront_app_id = models.UUIDField(null=True, blank=True)
    # A partner's order: which partner, its customer's name and its own reference.
    partner_id = models.CharField(max_length=64, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    external_reference = models.CharField(max_length=100, blank=True)
    # The cart it was checked out from; unique, so one cart makes at most one order.
    cart = models.OneToOneField(
        "carts.Cart", on_delete=models.PROTECT, null=True, blank=True, related_name="order"
    )
    placed_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="order_number_unique"),
            models.UniqueConstraint(fields=["tenant", "sequence"], name="order_sequence_unique"),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_known"
            ),
            models.CheckConstraint(
                condition=Q(payment_status__in=PaymentStatus.values),
                name="order_payment_status_known",
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0) & Q(total__gte=0), name="order_totals_not_negative"
            ),
            models.CheckConstraint(condition=Q(item_count__gte=1), name="order_has_items"),
            # Someone can be told about the order: a customer, or an e-mail.
            models.CheckConstraint(
                condition=Q(customer_id__isnull=False) | ~Q(email=""), name="order_has_buyer"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer_id", "-placed_at"], name="order_customer_idx"),
            models.Index(fields=["tenant", "anonymous_id"], name="order_anonymous_idx"),
            models.Index(fields=["tenant", "partner_id"], name="order_partner_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """One product as sold. ``product`` is kept to restock it on cancellation; everything the
    order shows is copied here."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=14, decimal_places=2)
    # When the line's quantity went back to stock (a cancellation): once, never again.
    restocked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="one_line_per_product"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="order_line_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderField(models.TextChoices):
    """The state an entry of the history changed."""

    STATUS = "status", "Status"
    PAYMENT_STATUS = "payment_status", "Payment status"


class OrderStatusChange(models.Model):
    """One step of an order's history, appended, never changed: the placement (from "") and
    every transition of its status or payment status, with who made it."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="history")
    field = models.CharField(max_length=16, choices=OrderField.choices)
    from_value = models.CharField(max_length=24, blank=True)
    to_value = models.CharField(max_length=24)
    # e.g. "customer:<uuid>", "guest:<anonymous id>", "operator:<username>", "partner:<id>".
    actor = models.CharField(max_length=200)
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = "status change"

    def __str__(self) -> str:
        return f"{self.field}: {self.from_value or '-'} -> {self.to_value}"


class PaymentEvent(models.Model):
    """What a payment provider reported about an order's payment, appended, never changed.

    ``kind`` is an ``orders.states.PaymentEventKind``; ``amount`` is in the order's currency.
    One event per (order, kind, provider's reference): the provider's retry of an event is the
    same event. The order's ``payment_status`` is derived from its events (orders.states).
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payment_events")
    kind = models.CharField(max_length=16)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    psp_reference = models.CharField(max_length=200)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    # Who reported it, e.g. "payment:<provider>:<key id>".
    actor = models.CharField(max_length=200)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind", "psp_reference"], name="payment_event_once"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_event_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} ({self.psp_reference})"
