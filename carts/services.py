"""Changes to carts. Each service is one transaction that locks the owner's open cart row
first (``cart_qs_select_for_update``), so that concurrent changes to one cart queue up instead of
losing or doubling quantities; the database constraints decide the races the lock cannot (two
first adds creating the same cart). A failed change leaves nothing behind.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from carts import errors
from carts.models import Cart, CartLine, CartMigration
from carts.owners import CartOwner
from catalog.models import Product
from core.errors import DomainError


def cart_qs_select_for_update() -> QuerySet[Cart]:
    """The one way to lock carts: row locks taken in primary-key order."""
    return Cart.objects.select_for_update().order_by("pk")


def anonymous_id_lock(*, tenant_id: int, anonymous_id: str) -> None:
    """Until the transaction ends, serialize the migration of an anonymous id with the creation
    of a cart for it.

    No row lock can: when the first add creates the cart, neither the cart nor the (uncommitted)
    migration record is a row the other side could see, so each would miss the other and the
    added line would be left in a cart nobody can migrate. PostgreSQL takes a transaction-scoped
    advisory lock; SQLite's immediate transactions already run writers one at a time.
    """
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(
        f"cart-anonymous-id:{tenant_id}:{anonymous_id}".encode(), digest_size=8
    ).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)]
        )


def _open_cart_locked(owner: CartOwner, *, create: bool) -> Cart | None:
    cart = cart_qs_select_for_update().filter(owner.open_cart_filter()).first()
    if cart is None and create and owner.anonymous_id is not None:
        anonymous_id_lock(tenant_id=owner.tenant_id, anonymous_id=owner.anonymous_id)
    if (
        owner.anonymous_id is not None
        and (cart is not None or create)
        and CartMigration.objects.filter(
            tenant_id=owner.tenant_id, anonymous_id=owner.anonymous_id
        ).exists()
    ):
        # Migrated (perhaps while this request waited for the lock): the anonymous id is
        # retired. A cart of it still open had nothing to migrate, and a new one would be a
        # cart nobody can migrate: either would silently lose what is added now.
        raise DomainError(errors.ANONYMOUS_ID_RETIRED)
    if cart is not None or not create:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(
                tenant_id=owner.tenant_id,
                anonymous_id=owner.anonymous_id,
                customer_id=owner.customer_id,
                storefront_app_id=owner.storefront_app_id,
            )
    except IntegrityError:
        # Another request created it first; wait for its lock and use that cart.
        return cart_qs_select_for_update().filter(owner.open_cart_filter()).get()


def _product_for_sale(*, tenant_id: int, sku: str) -> Product:
    product = Product.objects.filter(tenant_id=tenant_id, sku=sku).first()
    if product is None:
        raise DomainError.for_field(errors.SKU_UNKNOWN, "sku", f"No product has SKU {sku!r}.")
    if not product.is_active:
        raise DomainError.for_field(
            errors.SKU_INACTIVE, "sku", f"The product {sku!r} is no longer for sale."
        )
    return product


def quantity_maximum(product: Product) -> int:
    """The most one order may hold of ``product``: its own maximum, capped by the cart's."""
    return min(
        product.max_quantity_per_order or settings.CART_MAX_QUANTITY_PER_LINE,
        settings.CART_MAX_QUANTITY_PER_LINE,
    )


def quantity_limit(product: Product) -> int:
    """The most one line of ``product`` may hold: stock and the per-order maximum."""
    maximum = quantity_maximum(product)
    return maximum if product.stock is None else min(product.stock, maximum)


def quantity_check(*, product: Product, quantity: int) -> None:
    """Raise unless ``quantity`` of ``product`` fits its stock and per-order maximum."""
    if product.stock is not None and quantity > product.stock:
        raise DomainError.for_field(
            errors.QUANTITY_ABOVE_STOCK,
            "quantity",
            f"Only {product.stock} of {product.sku!r} in stock; the line would hold {quantity}.",
        )
    maximum = quantity_maximum(product)
    if quantity > maximum:
        raise DomainError.for_field(
            errors.QUANTITY_ABOVE_MAXIMUM,
            "quantity",
            f"At most {maximum} of {product.sku!r} per order; the line would hold {quantity}.",
        )


def _touch(cart: Cart) -> None:
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())


def _line_limit_check(cart: Cart) -> None:
    if CartLine.objects.filter(cart=cart).count() >= settings.CART_MAX_LINES:
        raise DomainError.for_field(
            errors.TOO_MANY_LINES,
            "sku",
            f"A cart holds at most {settings.CART_MAX_LINES} lines.",
        )


@transaction.atomic
def cart_line_add(*, owner: CartOwner, sku: str, quantity: int) -> None:
    """Add ``quantity`` (≥ 1) of ``sku``, to the existing line of that SKU if there is one.

    Creates the owner's open cart on the first add.
    """
    product = _product_for_sale(tenant_id=owner.tenant_id, sku=sku)
    cart = _open_cart_locked(owner, create=True)
    assert cart is not None
    now = timezone.now()
    # Most adds go to a line that has room: one statement checks and adds. Otherwise the line
    # is missing, or full, and the checks below say which.
    added = CartLine.objects.filter(
        cart=cart, product=product, quantity__lte=quantity_limit(product) - quantity
    ).update(quantity=F("quantity") + quantity, unit_price_seen=product.unit_price, updated_at=now)
    if not added:
        held = (
            CartLine.objects.filter(cart=cart, product=product)
            .values_list("quantity", flat=True)
            .first()
        )
        # Raises for a full line; so only a missing line goes on to be created.
        quantity_check(product=product, quantity=quantity + (held or 0))
        _line_limit_check(cart)
        CartLine.objects.create(
            cart=cart, product=product, quantity=quantity, unit_price_seen=product.unit_price
        )
    _touch(cart)


@transaction.atomic
def cart_line_set(*, owner: CartOwner, sku: str, quantity: int) -> None:
    """Set the line of ``sku`` to ``quantity``; 0 removes the line.

    Only a line the cart holds can be set: like a removal, a SKU the cart does not hold is a
    404 (adding is ``cart_line_add``), so a guessed SKU never changes any cart.
    """
    if quantity == 0:
        cart_line_remove(owner=owner, sku=sku)
        return
    product = _product_for_sale(tenant_id=owner.tenant_id, sku=sku)
    quantity_check(product=product, quantity=quantity)
    cart = _open_cart_locked(owner, create=False)
    updated = 0
    if cart is not None:
        updated = CartLine.objects.filter(cart=cart, product=product).update(
            quantity=quantity, unit_price_seen=product.unit_price, updated_at=timezone.now()
        )
    if not updated:
        raise DomainError(errors.LINE_NOT_FOUND, f"The cart has no line for SKU {sku!r}.")
    assert cart is not None
    _touch(cart)


@transaction.atomic
def cart_line_remove(*, owner: CartOwner, sku: str) -> None:
    """Remove the line of ``sku``; 404 when the cart has none."""
    cart = _open_cart_locked(owner, create=False)
    deleted = 0
    if cart is not None:
        deleted, _ = CartLine.objects.filter(
            cart=cart, product__tenant_id=owner.tenant_id, product__sku=sku
        ).delete()
    if not deleted:
        raise DomainError(errors.LINE_NOT_FOUND, f"The cart has no line for SKU {sku!r}.")
    assert cart is not None
    _touch(cart)


@transaction.atomic
def cart_clear(*, owner: CartOwner) -> None:
    """Remove every line. The cart itself stays (same id); no cart is a no-op."""
    cart = _open_cart_locked(owner, create=False)
    if cart is not None:
        CartLine.objects.filter(cart=cart).delete()
        _touch(cart)
