"""Reads of carts. ``cart_get`` is one query whatever the number of lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.apps import apps

from carts.models import Cart, CartMigration, CartStatus
from carts.owners import CartOwner


@dataclass(frozen=True)
class CartLineView:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class CartView:
    id: str | None
    is_anonymous: bool
    currency: str
    lines: list[CartLineView]
    updated_at: datetime | None

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))


def cart_get(*, owner: CartOwner) -> CartView:
    """The owner's open cart, or an empty one (nothing is written) when there is none."""
    rows = list(
        Cart.objects.filter(owner.open_cart_filter())
        .order_by("lines__id")
        .values_list(
            "public_id",
            "updated_at",
            "tenant__currency",
            "lines__product__sku",
            "lines__product__name",
            "lines__quantity",
            "lines__product__unit_price",
        )
    )
    if not rows:
        return CartView(None, owner.is_anonymous, _tenant_currency(owner.tenant_id), [], None)
    public_id, updated_at, currency = rows[0][:3]
    lines = [
        CartLineView(sku=sku, name=name, quantity=quantity, unit_price=unit_price)
        for _, _, _, sku, name, quantity, unit_price in rows
        if sku is not None
    ]
    return CartView(str(public_id), owner.is_anonymous, currency, lines, updated_at)


def _tenant_currency(tenant_id: int) -> str:
    tenant_model = apps.get_model("identity", "Tenant")
    currency = tenant_model.objects.filter(pk=tenant_id).values_list("currency", flat=True).first()
    return currency or ""


def anonymous_id_state(*, tenant_id: int, anonymous_id: str) -> str:
    """``unknown`` (no cart ever), ``in_use`` (a cart of its own) or ``retired`` (migrated)."""
    if CartMigration.objects.filter(tenant_id=tenant_id, anonymous_id=anonymous_id).exists():
        return "retired"
    states = list(
        Cart.objects.filter(tenant_id=tenant_id, anonymous_id=anonymous_id).values_list(
            "status", "customer_id"
        )[:5]
    )
    if not states:
        return "unknown"
    # A cart merged away or handed to a customer belongs to a migrated id.
    if any(status != CartStatus.OPEN or customer_id for status, customer_id in states):
        return "retired"
    return "in_use"


def anonymous_cart_storefront_app(*, tenant_id: int, anonymous_id: str) -> str | None:
    """The storefront app the anonymous id's cart was started from, if any.

    The cart may be open, or already migrated (merged, or handed to the customer): a retried
    migration must meet the same policy as the first one.
    """
    app_id = (
        Cart.objects.filter(tenant_id=tenant_id, anonymous_id=anonymous_id)
        .order_by("-pk")
        .values_list("storefront_app_id", flat=True)
        .first()
    )
    return str(app_id) if app_id else None
