from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from carts.models import Cart, CartLine


class CartLineInline(admin.TabularInline):
    model = CartLine
    fields = ("product", "quantity", "created_at", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    """Read-only: carts change only through the API's services."""

    list_display = ("public_id", "tenant", "anonymous_id", "customer_id", "status", "updated_at")
    list_filter = ("tenant", "status")
    search_fields = ("=anonymous_id", "=customer_id", "=public_id")
    readonly_fields = (
        "public_id",
        "tenant",
        "anonymous_id",
        "customer_id",
        "status",
        "merged_into",
        "merged_at",
        "created_at",
        "updated_at",
    )
    inlines = [CartLineInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
