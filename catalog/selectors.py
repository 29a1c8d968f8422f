from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from catalog.models import Product


def product_list(*, tenant_id: int) -> QuerySet[Product]:
    return Product.objects.filter(tenant_id=tenant_id, is_active=True).order_by("sku")


def product_get(*, tenant_id: int, sku: str) -> Product | None:
    return Product.objects.filter(tenant_id=tenant_id, sku=sku, is_active=True).first()


def supplier_product_page(
    *,
    tenant_id: int,
    supplier_id: int,
    limit: int,
    updated_since: datetime | None = None,
    after: tuple[datetime, int] | None = None,
) -> list[Product]:
    """The supplier's products (active or not) by last change, then id: a keyset page after
    ``after`` (the last row's ``(updated_at, id)``), so that a page never skips or repeats a
    product that did not change meanwhile; one that did moves to the end and comes again with
    its new state."""
    products = Product.objects.filter(tenant_id=tenant_id, supplier_id=supplier_id)
    if updated_since is not None:
        products = products.filter(updated_at__gte=updated_since)
    if after is not None:
        moment, last_id = after
        products = products.filter(Q(updated_at__gt=moment) | Q(updated_at=moment, id__gt=last_id))
    return list(products.order_by("updated_at", "id")[:limit])
