"""Placing orders: a shopper's checkout and a partner's list of lines.

``order_place_from_cart`` (a shopper's checkout) and ``order_place_from_lines`` (a partner's
list of lines) share one path, ``_order_place``, inside one transaction:

1. the products are locked (primary-key order) and read again; every line must be for sale,
   within stock and within the per-order maximum, else 400 (5003) naming each line that is not
   (``lines.<SKU>``);
2. the lines are priced at the current prices; a line's total or the order's above what an
   order records (``MAX_AMOUNT``) is a 400 (5009); an ``expected_total`` that differs is a 409
   (5004) carrying the new totals;
3. stock is taken by one ``UPDATE`` of every product with limited stock, each row guarded by
   ``stock >= its quantity``: stock never goes below zero, whatever runs at once (the guard
   holds on its own; the row locks make it never fail, and keep the error messages exact);
4. the tenant's next order number is taken (its counter row stays locked until commit, so
   numbers are sequential and a rolled-back checkout gives its number back);
5. the order, its lines (one insert) and the first entry of its history are written.

After commit the ``order.placed`` log line is written and each handler of
``ORDER_EVENT_HANDLERS`` is called. A placement is a constant number of queries whatever the
number of lines; a refused one changes nothing. Lock order everywhere: the cart, the products,
the counter; a transition locks the order, then its products.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from carts import errors as cart_errors
from carts.models import Cart, CartLine, CartStatus
from carts.owners import CartOwner
from carts.services import cart_close_ordered, cart_lock_open, quantity_maximum
from catalog.models import Product
from catalog.services import product_qs_select_for_update
from core.errors import DomainError, FieldError
from core.events import event_emit
from core.models import decimal_field_max
from core.tenants import tenant_model
from orders import errors
from orders.models import (
    Order,
    OrderChannel,
    OrderField,
    OrderLine,
    OrderNumberCounter,
    OrderStatus,
    OrderStatusChange,
)

logger = logging.getLogger("orders")

CENT = Decimal("0.01")
# The most an order's amount columns hold: its lines' totals, subtotal and total alike.
MAX_AMOUNT = decimal_field_max(
    OrderLine._meta.get_field("line_total"),
    Order._meta.get_field("subtotal"),
    Order._meta.get_field("total"),
)


@dataclass(frozen=True)
class LineRequest:
    """A line of a partner's order: a SKU of the tenant and how many."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    lines: list[OrderLine]


@dataclass(frozen=True)
class _Buyer:
    channel: OrderChannel
    email: str
    customer_id: str | None = None
    anonymous_id: str | None = None
    storefront_app_id: str | None = None
    partner_id: str = ""
    customer_name: str = ""
    external_reference: str = ""

    @property
    def actor(self) -> str:
        if self.partner_id:
            return f"partner:{self.partner_id}"
        if self.customer_id:
            return f"customer:{self.customer_id}"
        return f"guest:{self.anonymous_id}"

    def check(self) -> None:
        if not self.customer_id and not self.email:
            raise DomainError.for_field(
                errors.EMAIL_REQUIRED, "email", "An e-mail address is required for a guest."
            )


def order_place_from_cart(
    *,
    tenant_id: int,
    customer_id: str | None = None,
    anonymous_id: str | None = None,
    email: str = "",
    expected_total: Decimal | None = None,
    storefront_app_id: str | None = None,
) -> PlacedOrder:
    """Check out the open cart of a customer or of a guest's anonymous id (see module doc).

    A guest needs ``email``; a customer's order keeps it if given. The cart is closed as
    ``ordered``, pointing at the order. No open cart is a 409: 5002 when the owner's last cart
    was ordered (a second checkout of one cart), else 5001, as for a cart without lines.
    """
    owner = CartOwner(tenant_id=tenant_id, customer_id=customer_id, anonymous_id=anonymous_id)
    buyer = _Buyer(
        channel=OrderChannel.STOREFRONT,
        email=email,
        customer_id=customer_id,
        anonymous_id=anonymous_id if customer_id is None else None,
        storefront_app_id=storefront_app_id,
    )
    buyer.check()
    tenant = _tenant_of(tenant_id)
    with transaction.atomic():
        cart = cart_lock_open(owner=owner)
        if cart is None:
            raise _no_open_cart(owner)
        lines = list(
            CartLine.objects.filter(cart=cart).order_by("pk").values_list("product_id", "quantity")
        )
        if not lines:
            raise DomainError(errors.CART_EMPTY)
        products = {
            product.pk: product
            for product in product_qs_select_for_update().filter(
                pk__in=[product_id for product_id, _ in lines]
            )
        }
        placed = _order_place(
            tenant_id=tenant_id,
            tenant=tenant,
            wanted=[(products[product_id].sku, products[product_id], q) for product_id, q in lines],
            buyer=buyer,
            expected_total=expected_total,
            cart_id=cart.pk,
        )
        cart_close_ordered(cart_id=cart.pk)
    return placed


def _no_open_cart(owner: CartOwner) -> DomainError:
    last = (
        Cart.objects.filter(owner.carts_filter())
        .order_by("-pk")
        .values_list("status", "order__number")
        .first()
    )
    if last is not None and last[0] == CartStatus.ORDERED:
        return DomainError(
            errors.CART_ALREADY_ORDERED,
            f"The cart was checked out as order {last[1]}; add a line to start a new cart.",
        )
    return DomainError(errors.CART_EMPTY)


def order_place_from_lines(
    *,
    tenant_id: int,
    lines: Sequence[LineRequest],
    email: str,
    customer_name: str = "",
    external_reference: str = "",
    partner_id: str = "",
    customer_id: str | None = None,
    expected_total: Decimal | None = None,
    channel: OrderChannel = OrderChannel.RESELLER,
) -> PlacedOrder:
    """Place an order of ``lines`` (SKUs of the tenant) for a partner's customer, attributed
    to ``partner_id``; the same checks, prices, stock and numbers as a checkout. ``email`` is
    required unless the order is for one of our customers (``customer_id``)."""
    _lines_check(lines)
    buyer = _Buyer(
        channel=channel,
        email=email,
        customer_id=customer_id,
        partner_id=partner_id,
        customer_name=customer_name,
        external_reference=external_reference,
    )
    buyer.check()
    tenant = _tenant_of(tenant_id)
    with transaction.atomic():
        products = {
            product.sku: product
            for product in product_qs_select_for_update().filter(
                tenant_id=tenant_id, sku__in=[line.sku for line in lines]
            )
        }
        return _order_place(
            tenant_id=tenant_id,
            tenant=tenant,
            wanted=[(line.sku, products.get(line.sku), line.quantity) for line in lines],
            buyer=buyer,
            expected_total=expected_total,
            cart_id=None,
        )


def _lines_check(lines: Sequence[LineRequest]) -> None:
    problems: list[FieldError] = []
    slug = errors.ORDER_LINES_INVALID.slug
    if not lines:
        problems.append(FieldError("lines", slug, "An order needs at least one line."))
    if len(lines) > settings.CART_MAX_LINES:
        problems.append(
            FieldError("lines", slug, f"An order holds at most {settings.CART_MAX_LINES} lines.")
        )
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if line.sku in seen:
            problems.append(
                FieldError(f"lines[{index}].sku", slug, f"SKU {line.sku!r} is named twice.")
            )
        seen.add(line.sku)
        if line.quantity < 1:
            problems.append(
                FieldError(f"lines[{index}].quantity", slug, "A quantity is at least 1.")
            )
    if problems:
        raise DomainError(errors.ORDER_LINES_INVALID, problems[0].message, problems)


def _tenant_of(tenant_id: int) -> tuple[str, str]:
    """The tenant's slug (the orders' number prefix) and currency, read before any lock is
    taken so that the locks are held no longer than needed."""
    slug, currency = (
        tenant_model()._default_manager.values_list("slug", "currency").get(pk=tenant_id)
    )
    return slug, currency


def _order_place(
    *,
    tenant_id: int,
    tenant: tuple[str, str],
    wanted: list[tuple[str, Product | None, int]],
    buyer: _Buyer,
    expected_total: Decimal | None,
    cart_id: int | None,
) -> PlacedOrder:
    """Steps 1-5 of the module doc, for ``wanted`` lines of (SKU, locked product or None for an
    unknown SKU, quantity), inside the caller's transaction."""
    sellable = _sellable(wanted)
    slug, currency = tenant
    lines = [
        OrderLine(
            product=product,
            sku=product.sku,
            name=product.name,
            unit_price=product.unit_price,
            quantity=quantity,
            line_total=(product.unit_price * quantity).quantize(CENT),
        )
        for product, quantity in sellable
    ]
    subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
    total = subtotal
    _amounts_check(lines, total)
    if expected_total is not None and expected_total != total:
        raise DomainError(
            errors.ORDER_TOTAL_CHANGED,
            f"The order would cost {total:.2f} {currency}, not {expected_total:.2f}.",
            extensions={
                "currency": currency,
                "expectedTotal": f"{expected_total:.2f}",
                "subtotal": f"{subtotal:.2f}",
                "total": f"{total:.2f}",
            },
        )
    now = timezone.now()
    _stock_take(sellable, now=now)
    sequence = _order_number_next(tenant_id)
    order = Order.objects.create(
        tenant_id=tenant_id,
        number=f"{slug.upper()}-{sequence:06d}",
        sequence=sequence,
        channel=buyer.channel,
        currency=currency,
        item_count=sum(line.quantity for line in lines),
        subtotal=subtotal,
        total=total,
        email=buyer.email,
        customer_id=buyer.customer_id,
        anonymous_id=buyer.anonymous_id,
        storefront_app_id=buyer.storefront_app_id,
        partner_id=buyer.partner_id,
        customer_name=buyer.customer_name,
        external_reference=buyer.external_reference,
        cart_id=cart_id,
        placed_at=now,
    )
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    OrderStatusChange.objects.create(
        order=order, field=OrderField.STATUS, to_value=OrderStatus.PLACED, actor=buyer.actor, at=now
    )
    transaction.on_commit(lambda: order_placed_emit(order, line_count=len(lines)))
    return PlacedOrder(order=order, lines=lines)


def _amounts_check(lines: list[OrderLine], total: Decimal) -> None:
    """Refuse an order whose amounts its columns cannot hold (400, 5009), every line named."""
    if total <= MAX_AMOUNT:
        return
    slug = errors.ORDER_TOTAL_TOO_LARGE.slug
    too_large = [
        FieldError(f"lines.{line.sku}", slug, f"{line.line_total:.2f} is above {MAX_AMOUNT}.")
        for line in lines
        if line.line_total > MAX_AMOUNT
    ]
    raise DomainError(
        errors.ORDER_TOTAL_TOO_LARGE,
        f"The order would cost {total:.2f}, above the {MAX_AMOUNT} an order records.",
        errors=too_large,
    )


def _sellable(wanted: list[tuple[str, Product | None, int]]) -> list[tuple[Product, int]]:
    """The lines as (product, quantity), or 400 (5003) naming every line that cannot be sold."""
    problems: list[FieldError] = []
    for sku, product, quantity in wanted:
        field = f"lines.{sku}"
        if product is None:
            problems.append(
                FieldError(field, cart_errors.SKU_UNKNOWN.slug, f"No product has SKU {sku!r}.")
            )
        elif not product.is_active:
            problems.append(
                FieldError(field, cart_errors.SKU_INACTIVE.slug, f"{sku!r} is no longer for sale.")
            )
        elif product.stock is not None and quantity > product.stock:
            problems.append(
                FieldError(
                    field,
                    cart_errors.QUANTITY_ABOVE_STOCK.slug,
                    f"Only {product.stock} of {sku!r} in stock; the line holds {quantity}.",
                )
            )
        elif quantity > quantity_maximum(product):
            problems.append(
                FieldError(
                    field,
                    cart_errors.QUANTITY_ABOVE_MAXIMUM.slug,
                    f"At most {quantity_maximum(product)} of {sku!r} per order; the line "
                    f"holds {quantity}.",
                )
            )
    if problems:
        raise DomainError(
            errors.ORDER_LINES_UNAVAILABLE,
            " ".join(problem.message for problem in problems),
            problems,
        )
    return [(product, quantity) for _, product, quantity in wanted if product is not None]


def _stock_take(sellable: list[tuple[Product, int]], *, now: datetime) -> None:
    """One guarded UPDATE for every product with limited stock: ``stock = stock - n WHERE
    stock >= n``, each row with its own n. Written as SQL (a checkout's hottest statement):
    the ORM's CASE expressions cost more to build than the statement takes to run."""
    limited = [(product, quantity) for product, quantity in sellable if product.stock is not None]
    if not limited:
        return
    quantity = "CASE id " + " ".join("WHEN %s THEN CAST(%s AS INTEGER)" for _ in limited) + " END"
    ids = ", ".join("%s" for _ in limited)
    per_product = [value for product, n in limited for value in (product.pk, n)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_PRODUCTS} SET stock = stock - {quantity}, updated_at = %s "  # noqa: S608 - table name from the model, values as parameters
            f"WHERE id IN ({ids}) AND stock >= {quantity}",
            [
                *per_product,
                _PRODUCT_UPDATED_AT.get_db_prep_value(now, connection),
                *(product.pk for product, _ in limited),
                *per_product,
            ],
        )
        taken = cursor.rowcount
    if taken != len(limited):
        # Only without the row locks (never here): say which lines fell short, change nothing.
        stocks = dict(
            Product.objects.filter(pk__in=[p.pk for p, _ in limited]).values_list("pk", "stock")
        )
        for product, _ in limited:
            product.stock = stocks[product.pk]
        _sellable([(product.sku, product, quantity) for product, quantity in limited])
        raise RuntimeError("stock changed under the products' row locks")


_PRODUCTS = Product._meta.db_table
_PRODUCT_UPDATED_AT = cast(models.DateTimeField, Product._meta.get_field("updated_at"))


def _order_number_next(tenant_id: int) -> int:
    """The tenant's next sequence number, in one statement that creates or advances the
    counter and keeps its row locked until commit."""
    table = OrderNumberCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, last_number) VALUES (%s, 1) "  # noqa: S608 - table name from the model
            f"ON CONFLICT (tenant_id) DO UPDATE SET last_number = {table}.last_number + 1 "
            "RETURNING last_number",
            [tenant_id],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def order_placed_emit(order: Order, *, line_count: int) -> None:
    """After commit: the ``order.placed`` log line, then each handler named in
    ``settings.ORDER_EVENT_HANDLERS`` (dotted paths of ``handler(event, payload)``)."""
    payload = {
        "tenant": order.tenant_id,
        "order": order.number,
        "order_id": str(order.public_id),
        "channel": order.channel,
        "customer": str(order.customer_id) if order.customer_id else None,
        "anonymous_id": str(order.anonymous_id) if order.anonymous_id else None,
        "partner": order.partner_id or None,
        "currency": order.currency,
        "total": f"{order.total:.2f}",
        "item_count": order.item_count,
        "lines": line_count,
    }
    event_emit(
        event="order.placed",
        payload=payload,
        handlers=settings.ORDER_EVENT_HANDLERS,
        logger=logger,
    )
