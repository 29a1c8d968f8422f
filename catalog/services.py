from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from catalog import errors
from catalog.models import Product
from core.errors import DomainError, ErrorCode


class Unset:
    """A field the caller left out (as opposed to None, which may mean unlimited)."""


UNSET = Unset()
# The most a product's stock may hold (its column is a 32-bit integer).
MAX_STOCK = 2_000_000_000


def product_qs_select_for_update() -> QuerySet[Product]:
    """The one way to lock products (checkout, restocking): row locks taken in primary-key
    order, so that two transactions locking overlapping sets of products never deadlock."""
    return Product.objects.select_for_update().order_by("pk")


def product_upsert(
    *,
    tenant_id: int,
    sku: str,
    name: str,
    unit_price: Decimal,
    stock: int | None = None,
    max_quantity_per_order: int | None = None,
    is_active: bool = True,
) -> Product:
    product, _ = Product.objects.update_or_create(
        tenant_id=tenant_id,
        sku=sku,
        defaults={
            "name": name,
            "unit_price": unit_price,
            "stock": stock,
            "max_quantity_per_order": max_quantity_per_order,
            "is_active": is_active,
        },
    )
    return product


# --- The Supplier API: a supplier's own products ------------------------------------------


@dataclass(frozen=True)
class SupplierProductPut:
    product: Product
    created: bool


def _owned_or_refused(product: Product, *, supplier_id: int) -> Product:
    """A supplier's own product; another supplier's is a 404, the shop's own a 409."""
    if product.supplier_id is None:
        raise DomainError(errors.SUPPLIER_SKU_TAKEN)
    if product.supplier_id != supplier_id:
        raise DomainError(errors.SUPPLIER_PRODUCT_NOT_FOUND)
    return product


def supplier_product_put(
    *,
    tenant_id: int,
    supplier_id: int,
    sku: str,
    name: str,
    unit_price: Decimal,
    is_active: bool = True,
    max_quantity_per_order: int | None = None,
    stock: int | None | Unset = UNSET,
) -> SupplierProductPut:
    """Create or replace the supplier's product ``sku``. ``stock`` left out keeps the stock of
    an existing product (stock changes race checkouts: ``supplier_stock_apply`` makes them) and
    is 0 for a new one; None is unlimited. Another supplier's SKU is a 404 (6000), the shop's
    own a 409 (6001), and nothing changes."""
    fields: dict[str, Any] = {
        "name": name,
        "unit_price": unit_price,
        "is_active": is_active,
        "max_quantity_per_order": max_quantity_per_order,
    }
    if not isinstance(stock, Unset):
        fields["stock"] = stock
    with transaction.atomic():
        existing = product_qs_select_for_update().filter(tenant_id=tenant_id, sku=sku).first()
        if existing is None:
            product = Product(
                tenant_id=tenant_id,
                supplier_id=supplier_id,
                sku=sku,
                **{"stock": 0, **fields},
            )
            product.full_clean(exclude=["tenant", "supplier"], validate_constraints=False)
            try:
                with transaction.atomic():
                    product.save(force_insert=True)
                return SupplierProductPut(product=product, created=True)
            except IntegrityError:
                # Created meanwhile by another request: the constraint decided; update it.
                existing = product_qs_select_for_update().get(tenant_id=tenant_id, sku=sku)
        product = _owned_or_refused(existing, supplier_id=supplier_id)
        for name_, value in fields.items():
            setattr(product, name_, value)
        product.full_clean(exclude=["tenant", "supplier"], validate_constraints=False)
        product.save()
    return SupplierProductPut(product=product, created=False)


class StockMode(StrEnum):
    SET = "set"
    DELTA = "delta"


class ErrorPolicy(StrEnum):
    REJECT_ALL = "reject_all"
    REJECT_FAILED = "reject_failed"


@dataclass(frozen=True)
class StockRow:
    sku: str
    quantity: int
    mode: StockMode


@dataclass(frozen=True)
class StockRowResult:
    """One row's outcome: ``applied`` with the new stock, ``rejected`` with the error, or
    ``not_applied`` (a valid row of a request refused as a whole under ``reject_all``)."""

    sku: str
    status: str
    stock: int | None = None
    error: ErrorCode | None = None


def supplier_stock_apply(
    *, tenant_id: int, supplier_id: int, rows: list[StockRow], error_policy: ErrorPolicy
) -> list[StockRowResult]:
    """Set or change the stock of the supplier's products, one result per row, in order.

    The products are locked in primary-key order (as a checkout locks them), each row judged
    against the locked stock, and every applied row written by one ``UPDATE``: a delta racing
    checkouts neither loses nor doubles units, and stock never goes below zero. A row for a SKU
    that is not the supplier's is rejected (6000), a delta below zero (6002), on unlimited
    stock (6003) or above ``MAX_STOCK`` (6006) too. Under ``reject_all`` one rejected row
    refuses the request (409, 6004, the results in ``results``) and nothing changes; under
    ``reject_failed`` the other rows are applied.
    """
    skus = [row.sku for row in rows]
    if len(set(skus)) != len(skus):
        raise DomainError(errors.STOCK_SKU_REPEATED)
    with transaction.atomic():
        locked = {
            product.sku: product
            for product in product_qs_select_for_update().filter(
                tenant_id=tenant_id, supplier_id=supplier_id, sku__in=skus
            )
        }
        results: list[StockRowResult] = []
        changes: dict[int, int] = {}
        for row in rows:
            product = locked.get(row.sku)
            if product is None:
                results.append(
                    StockRowResult(row.sku, "rejected", error=errors.SUPPLIER_PRODUCT_NOT_FOUND)
                )
                continue
            if row.mode is StockMode.SET:
                new_stock = row.quantity
            elif product.stock is None:
                results.append(StockRowResult(row.sku, "rejected", error=errors.STOCK_UNLIMITED))
                continue
            else:
                new_stock = product.stock + row.quantity
            if new_stock < 0 or new_stock > MAX_STOCK:
                error = errors.STOCK_BELOW_ZERO if new_stock < 0 else errors.STOCK_ABOVE_MAXIMUM
                results.append(
                    StockRowResult(row.sku, "rejected", stock=product.stock, error=error)
                )
                continue
            changes[product.pk] = new_stock
            results.append(StockRowResult(row.sku, "applied", stock=new_stock))
        rejected = any(result.status == "rejected" for result in results)
        if rejected and error_policy is ErrorPolicy.REJECT_ALL:
            raise DomainError(
                errors.STOCK_REJECTED,
                extensions={
                    "results": [
                        stock_result_body(
                            result
                            if result.status == "rejected"
                            else StockRowResult(result.sku, "not_applied")
                        )
                        for result in results
                    ]
                },
            )
        if changes:
            Product.objects.filter(pk__in=list(changes)).update(
                stock=Case(
                    *[When(pk=pk, then=Value(stock)) for pk, stock in changes.items()],
                    output_field=IntegerField(),
                ),
                updated_at=timezone.now(),
            )
    return results


def stock_result_body(result: StockRowResult) -> dict[str, Any]:
    """A row's result as the API answers it."""
    body: dict[str, Any] = {"sku": result.sku, "status": result.status}
    if result.stock is not None:
        body["stock"] = result.stock
    if result.error is not None:
        body["error"] = {
            "code": result.error.number,
            "slug": result.error.slug,
            "message": result.error.description,
        }
    return body
