from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from carts.models import Cart, CartLine, CartMigration
from core.admin import ReadOnlyInline, RecordAdmin


class CartLineInline(ReadOnlyInline):
    model = CartLine
    fields = ("product", "quantity", "created_at", "updated_at")
    readonly_fields = fields


@admin.register(Cart)
class CartAdmin(RecordAdmin):
    """Read-only: carts change only through the API's services."""

    list_display = (
        "public_id",
        "tenant",
        "anonymous_id",
        "customer_id",
        "status",
        "merged_into",
        "updated_at",
    )
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


@admin.register(CartMigration)
class CartMigrationAdmin(RecordAdmin):
    """The audit trail of migrations, with each one's report. Read-only."""

    list_display = ("anonymous_id", "customer_id", "tenant", "policy", "lines", "created_at")
    list_filter = ("tenant", "policy")
    search_fields = ("=anonymous_id", "=customer_id")
    readonly_fields = (
        "tenant",
        "anonymous_id",
        "customer_id",
        "source",
        "target",
        "policy",
        "report_table",
        "created_at",
    )
    exclude = ("source_cart", "target_cart", "report")

    @admin.display(description="lines")
    def lines(self, migration: CartMigration) -> int:
        return len(migration.report)

    @admin.display(description="source cart (anonymous)")
    def source(self, migration: CartMigration) -> str:
        return _cart_link(migration.source_cart)

    @admin.display(description="target cart (customer)")
    def target(self, migration: CartMigration) -> str:
        return _cart_link(migration.target_cart)

    @admin.display(description="report")
    def report_table(self, migration: CartMigration) -> str:
        rows = "".join(
            format_html(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                line.get("sku"),
                line.get("outcome"),
                line.get("anonymousQuantity"),
                line.get("customerQuantity"),
                line.get("quantity"),
                ", ".join(line.get("reasons", [])),
            )
            for line in migration.report
        )
        header = (
            "<tr><th>SKU</th><th>outcome</th><th>anonymous</th><th>customer</th>"
            "<th>after</th><th>reasons</th></tr>"
        )
        return format_html("<table>{}{}</table>", mark_safe(header), mark_safe(rows))  # noqa: S308


def _cart_link(cart: Cart | None) -> str:
    if cart is None:
        return "-"
    url = reverse("admin:carts_cart_change", args=[cart.pk])
    return format_html('<a href="{}">{}</a>', url, cart.public_id)
