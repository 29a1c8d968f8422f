from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from catalog.models import Product


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
