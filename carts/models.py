"""Carts and their lines. A cart knows its owner only as ids, never as a token or a model of
the identity app: ``customer_id`` set means a customer's cart, else ``anonymous_id`` owns it.

A checked-out cart is closed with the status ``ordered``; the order points at it (a unique
reference from the orders app, which depends on carts and never the other way round), so one
cart makes at most one order.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import TimestampedModel


class CartStatus(models.TextChoices):
    OPEN = "open", "Open"
    MERGED = "merged", "Merged into another cart"
    ORDERED = "ordered", "Checked out into an order"


class Cart(TimestampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.PROTECT, related_name="+")
    anonymous_id = models.UUIDField(null=True, blank=True)
    customer_id = models.UUIDField(null=True, blank=True)
    # The storefront app the cart was started from (its anonymous-id and merge policies apply).
    storefront_app_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=CartStatus.choices, default=CartStatus.OPEN)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from"
    )
    merged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(anonymous_id__isnull=False) | Q(customer_id__isnull=False),
                name="cart_has_owner",
            ),
            models.UniqueConstraint(
                fields=["tenant", "anonymous_id"],
                condition=Q(status="open", customer_id__isnull=True, anonymous_id__isnull=False),
                name="one_open_cart_per_anonymous_id",
            ),
            models.UniqueConstraint(
                fields=["tenant", "customer_id"],
                condition=Q(status="open", customer_id__isnull=False),
                name="one_open_cart_per_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "anonymous_id"], name="cart_anonymous_id_idx"),
            models.Index(fields=["tenant", "customer_id"], name="cart_customer_id_idx"),
        ]

    def __str__(self) -> str:
        return str(self.public_id)


class CartLine(TimestampedModel):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    # The price when the line was last changed by the shopper, to tell them if it changed since.
    unit_price_seen = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="one_line_per_sku_per_cart"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="cart_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku}, quantity {self.quantity}"


class CartMigration(models.Model):
    """The one migration of an anonymous id into a customer's cart, kept with its report.

    Unique per (tenant, anonymous id): the database, not a prior check, makes a migration
    happen once, however many requests race for it.
    """

    tenant = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.PROTECT, related_name="+")
    anonymous_id = models.UUIDField()
    customer_id = models.UUIDField()
    source_cart = models.ForeignKey(
        Cart, on_delete=models.PROTECT, null=True, blank=True, related_name="migrations_out"
    )
    target_cart = models.ForeignKey(
        Cart, on_delete=models.PROTECT, null=True, blank=True, related_name="migrations_in"
    )
    policy = models.CharField(max_length=16)
    report = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "anonymous_id"], name="one_migration_per_anonymous_id"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "customer_id"], name="migration_customer_idx")]

    def __str__(self) -> str:
        return f"{self.anonymous_id} -> {self.customer_id}"
