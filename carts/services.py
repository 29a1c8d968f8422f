"""Changes to carts. Each service is one transaction that locks the owner's open cart row
first (``cart_qs_select_for_update``), so that concurrent changes to one cart queue up instead of
losing or doubling quantities; the database constraints decide the races the lock cannot (two
first adds creating the same cart). A failed change leaves nothing behind.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from carts import errors
from carts.models import Cart, CartLine, CartMigration, CartStatus
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


def cart_lock_open(*, owner: CartOwner) -> Cart | None:
    """The owner's open cart, locked until the caller's transaction ends; None if there is none.

    For a service that turns the cart into something else (checkout): while it holds the lock,
    no change to the cart can commit, and a change waiting for the lock finds the cart closed.
    """
    return _open_cart_locked(owner, create=False)


def cart_close_ordered(*, cart_id: int) -> None:
    """Close a cart locked by ``cart_lock_open`` as checked out; the owner's next cart call
    finds no open cart and starts a new one."""
    closed = Cart.objects.filter(pk=cart_id, status=CartStatus.OPEN).update(
        status=CartStatus.ORDERED, updated_at=timezone.now()
    )
    if closed != 1:
        raise RuntimeError(f"cart {cart_id} was not open and locked")


def _product_for_sale(*, tenant_id: int, sku: str) -> Product:
    with connection.cursor() as cursor:
        cursor.execute(_add_sql()["product"], [tenant_id, sku])
        row = cursor.fetchone()
    if row is None:
        raise DomainError.for_field(errors.SKU_UNKNOWN, "sku", f"No product has SKU {sku!r}.")
    fields = _product_fields()
    values = [
        field.to_python(value) if isinstance(field, models.DecimalField) else value
        for field, value in zip(fields, row, strict=True)
    ]
    product = Product.from_db(connection.alias, [field.attname for field in fields], values)
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


def _touch(cart: Cart | int, now: Any = None) -> None:
    """The cart changed now (its ``updated_at``); the last statement of a change, taken while
    its lock is held."""
    cart_id = cart if isinstance(cart, int) else cart.pk
    Cart.objects.filter(pk=cart_id).update(updated_at=now or timezone.now())


def _line_limit_check(cart_id: int) -> None:
    if CartLine.objects.filter(cart_id=cart_id).count() >= settings.CART_MAX_LINES:
        raise DomainError.for_field(
            errors.TOO_MANY_LINES,
            "sku",
            f"A cart holds at most {settings.CART_MAX_LINES} lines.",
        )


def cart_line_add(*, owner: CartOwner, sku: str, quantity: int) -> None:
    """Add ``quantity`` (≥ 1) of ``sku``, to the existing line of that SKU if there is one.

    Creates the owner's open cart on the first add. The product is read before the
    transaction (reading it inside would not lock it either); most adds then go to an open
    cart's line that has room, in two statements written once (``_add_sql``): one locks the cart
    and touches it, the next adds to the line, guarded by the line's limit and, for an
    anonymous id, by its not having been migrated (a new statement after the lock: under READ
    COMMITTED only it sees a migration that committed while the first one waited). Anything
    else (no cart yet, no line yet, a full line, a retired id) takes the general path.
    """
    product = _product_for_sale(tenant_id=owner.tenant_id, sku=sku)
    limit = quantity_limit(product)
    with transaction.atomic():
        now = timezone.now()
        cart_id = _open_cart_lock_touch(owner, now)
        if cart_id is None:
            # The first add: the cart is created (or found created by a concurrent first add).
            cart = _open_cart_locked(owner, create=True)
            assert cart is not None
            cart_id = cart.pk
        elif _line_add(owner, cart_id, product, quantity, limit, now):
            return
        else:
            _retired_check(owner)
        # The cart is locked and touched; its line of the product is missing, or full.
        _line_create(cart_id, product, quantity, now)


def _retired_check(owner: CartOwner) -> None:
    if (
        owner.anonymous_id is not None
        and CartMigration.objects.filter(
            tenant_id=owner.tenant_id, anonymous_id=owner.anonymous_id
        ).exists()
    ):
        raise DomainError(errors.ANONYMOUS_ID_RETIRED)


def _line_create(cart_id: int, product: Product, quantity: int, now: Any) -> None:
    """Add to the line of a locked cart, or create the line: refused past the line's limit or
    the cart's number of lines."""
    held = (
        CartLine.objects.filter(cart_id=cart_id, product=product)
        .values_list("quantity", flat=True)
        .first()
    )
    quantity_check(product=product, quantity=quantity + (held or 0))
    if held is not None:
        CartLine.objects.filter(cart_id=cart_id, product=product).update(
            quantity=F("quantity") + quantity,
            unit_price_seen=product.unit_price,
            updated_at=now,
        )
        _touch(cart_id, now)
        return
    _line_limit_check(cart_id)
    CartLine.objects.create(
        cart_id=cart_id, product=product, quantity=quantity, unit_price_seen=product.unit_price
    )
    _touch(cart_id, now)


# --- Add to cart's statements, written once (the hottest write of the API) ----------------------


@functools.cache
def _add_sql() -> dict[str, str]:
    """The SQL of an add's hot path. The open status is written into the SQL, not passed, so
    that a prepared statement's generic plan can use the partial unique indexes on open carts
    (as the cart read does)."""
    cart, line, migration = (
        Cart._meta.db_table,
        CartLine._meta.db_table,
        CartMigration._meta.db_table,
    )
    open_status = CartStatus.OPEN.value
    owner_cart = f"""
        UPDATE {cart} SET updated_at = %s
        WHERE tenant_id = %s AND status = '{open_status}' AND {{owner}}
        RETURNING id
    """  # noqa: S608 - table names from the models, values as parameters
    line_add = f"""
        UPDATE {line} SET quantity = quantity + %s, unit_price_seen = %s, updated_at = %s
        WHERE cart_id = %s AND product_id = %s AND quantity <= %s
    """  # noqa: S608 - table names from the models, values as parameters
    not_migrated = f"""
        AND NOT EXISTS (
            SELECT 1 FROM {migration} WHERE tenant_id = %s AND anonymous_id = %s
        )
    """  # noqa: S608 - table names from the models, values as parameters
    product_columns = [field.column for field in _product_fields()]
    return {
        "cart_anonymous": owner_cart.format(owner="anonymous_id = %s AND customer_id IS NULL"),
        "cart_customer": owner_cart.format(owner="customer_id = %s"),
        "line_anonymous": line_add + not_migrated,
        "line_customer": line_add,
        "product": f"SELECT {', '.join(product_columns)} FROM {Product._meta.db_table} "  # noqa: S608
        "WHERE tenant_id = %s AND sku = %s",
    }


# What an add needs of the product; the other fields are deferred.
_PRODUCT_READ = (
    "id",
    "tenant_id",
    "sku",
    "unit_price",
    "is_active",
    "stock",
    "max_quantity_per_order",
)


@functools.cache
def _product_fields() -> list[Any]:
    """The product's fields an add reads, in the model's order (``Model.from_db``'s)."""
    return [field for field in Product._meta.concrete_fields if field.attname in _PRODUCT_READ]


def _prep(model: type[models.Model], name: str, value: Any) -> Any:
    return model._meta.get_field(name).get_db_prep_value(value, connection)  # type: ignore[union-attr]


def _owner_kind(owner: CartOwner) -> str:
    """Which of the owner's ids finds its carts, as ``CartOwner.carts_filter`` decides."""
    return "customer" if owner.customer_id is not None else "anonymous"


def _owner_value(owner: CartOwner) -> Any:
    if _owner_kind(owner) == "customer":
        return _prep(Cart, "customer_id", uuid.UUID(owner.customer_id))
    return _prep(Cart, "anonymous_id", uuid.UUID(owner.anonymous_id))


def _open_cart_lock_touch(owner: CartOwner, now: Any) -> int | None:
    """Lock the owner's open cart and touch it, in one statement: its id, or None if the owner
    has no open cart."""
    kind = _owner_kind(owner)
    with connection.cursor() as cursor:
        cursor.execute(
            _add_sql()[f"cart_{kind}"],
            [_prep(Cart, "updated_at", now), owner.tenant_id, _owner_value(owner)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _line_add(
    owner: CartOwner, cart_id: int, product: Product, quantity: int, limit: int, now: Any
) -> bool:
    """Add to the cart's line of ``product`` if it has room (and the anonymous id was not
    migrated): whether it did."""
    parameters = [
        quantity,
        _prep(CartLine, "unit_price_seen", product.unit_price),
        _prep(CartLine, "updated_at", now),
        cart_id,
        product.pk,
        limit - quantity,
    ]
    kind = "customer"
    if owner.anonymous_id is not None:
        kind = "anonymous"
        anonymous_id = _prep(Cart, "anonymous_id", uuid.UUID(owner.anonymous_id))
        parameters += [owner.tenant_id, anonymous_id]
    with connection.cursor() as cursor:
        cursor.execute(_add_sql()[f"line_{kind}"], parameters)
        return bool(cursor.rowcount == 1)


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
