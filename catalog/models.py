from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import TimestampedModel


class Product(TimestampedModel):
    """A sellable SKU of one tenant, priced in the tenant's currency.

    ``stock`` None means unlimited; ``max_quantity_per_order`` None means no limit beyond the
    cart's own (``CART_MAX_QUANTITY_PER_LINE``). ``supplier`` None: the shop's own product;
    otherwise the supplier (``settings.SUPPLIER_MODEL``) that manages it through the Supplier
    API.
    """

    tenant = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    is_active = models.BooleanField(default=True)
    stock = models.PositiveIntegerField(null=True, blank=True, help_text="Empty for unlimited.")
    max_quantity_per_order = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Empty for no limit."
    )
    supplier = models.ForeignKey(
        settings.SUPPLIER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the shop's own product.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sku"], name="product_sku_unique_per_tenant"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="product_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(max_quantity_per_order__isnull=True) | Q(max_quantity_per_order__gte=1),
                name="product_max_quantity_positive",
            ),
        ]
        indexes = [
            # The Supplier API's list: a supplier's products by last change.
            models.Index(
                fields=["tenant", "supplier", "updated_at", "id"], name="product_supplier_changes"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
