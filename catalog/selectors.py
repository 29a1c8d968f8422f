from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import Product


def product_list(*, tenant_id: int) -> QuerySet[Product]:
    return Product.objects.filter(tenant_id=tenant_id, is_active=True).order_by("sku")


def product_get(*, tenant_id: int, sku: str) -> Product | None:
    return Product.objects.filter(tenant_id=tenant_id, sku=sku, is_active=True).first()
