from django.contrib import admin

from catalog.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "name",
        "tenant",
        "unit_price",
        "stock",
        "max_quantity_per_order",
        "is_active",
    )
    list_filter = ("tenant", "is_active")
    search_fields = ("sku", "name")
    ordering = ("tenant", "sku")
