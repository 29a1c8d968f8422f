"""Reads of carts. ``cart_get`` is one query whatever the number of lines."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from django.db import connection, models
from django.utils import timezone

from carts.models import Cart, CartLine, CartMigration, CartStatus
from carts.owners import CartOwner
from catalog.models import Product
from core.tenants import tenant_currency, tenant_table


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
    """The owner's open cart, or an empty one (nothing is written) when there is none.

    One query whatever the number of lines. It is the hottest read of the API, so its SQL is
    written once (``_cart_read_sql``) instead of being built by the ORM on every call; the
    values are converted with the fields' own ``to_python``, as the ORM would.
    """
    with connection.cursor() as cursor:
        cursor.execute(*_cart_read_sql(owner))
        rows = cursor.fetchall()
    if not rows:
        currency = tenant_currency(tenant_id=owner.tenant_id)
        return CartView(None, owner.is_anonymous, currency, [], None)
    public_id, updated_at, currency = rows[0][:3]
    lines = [
        CartLineView(
            sku=sku,
            name=name,
            quantity=int(quantity),
            unit_price=_PRICE.to_python(unit_price),
        )
        for _, _, _, sku, name, quantity, unit_price in rows
        if sku is not None
    ]
    return CartView(
        str(_PUBLIC_ID.to_python(public_id)),
        owner.is_anonymous,
        currency,
        lines,
        _aware(_UPDATED_AT.to_python(updated_at)),
    )


_PUBLIC_ID = cast(models.UUIDField, Cart._meta.get_field("public_id"))
_UPDATED_AT = cast(models.DateTimeField, Cart._meta.get_field("updated_at"))
_PRICE = cast(models.DecimalField, Product._meta.get_field("unit_price"))
_OWNER_FIELD = {
    True: cast(models.UUIDField, Cart._meta.get_field("anonymous_id")),
    False: cast(models.UUIDField, Cart._meta.get_field("customer_id")),
}
_OWNER_COLUMN = {
    True: "c.anonymous_id = %s AND c.customer_id IS NULL",
    False: "c.customer_id = %s",
}


@functools.cache
def _cart_read_template(is_anonymous: bool) -> str:
    # The status is written into the SQL, not passed: only then can a prepared statement's
    # generic plan use the partial unique indexes on open carts, instead of being planned
    # again on every execution.
    return f"""
        SELECT c.public_id, c.updated_at, t.currency, p.sku, p.name, l.quantity, p.unit_price
        FROM {Cart._meta.db_table} c
        JOIN {tenant_table()} t ON t.id = c.tenant_id
        LEFT JOIN {CartLine._meta.db_table} l ON l.cart_id = c.id
        LEFT JOIN {Product._meta.db_table} p ON p.id = l.product_id
        WHERE c.tenant_id = %s AND c.status = '{CartStatus.OPEN.value}'
            AND {_OWNER_COLUMN[is_anonymous]}
        ORDER BY l.id
    """  # noqa: S608 - table names from the models, values as parameters


def _cart_read_sql(owner: CartOwner) -> tuple[str, list[Any]]:
    owner_id = _OWNER_FIELD[owner.is_anonymous].get_db_prep_value(
        uuid.UUID(owner.anonymous_id or owner.customer_id), connection
    )
    return _cart_read_template(owner.is_anonymous), [owner.tenant_id, owner_id]


def _aware(moment: datetime) -> datetime:
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


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
