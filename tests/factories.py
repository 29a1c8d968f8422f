from __future__ import annotations

from decimal import Decimal

import factory

from catalog.models import Product
from identity.models import StorefrontApp, Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda tenant: tenant.slug.title())
    currency = "EUR"


class StorefrontAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StorefrontApp

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"storefront-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    tenant = factory.SubFactory(TenantFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.LazyAttribute(lambda product: f"Product {product.sku}")
    unit_price = Decimal("10.00")
    stock = None
    max_quantity_per_order = None
