from __future__ import annotations

from decimal import Decimal

from catalog.models import Product


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
