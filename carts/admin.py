from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from carts.models import Cart, CartLine, CartMigration
from core.admin import ReadOnlyInline, RecordAdmin
from identity.models import Customer


class CartLineInline(ReadOnlyInline):
    """A cart's lines priced as the API prices them: at the product's current price."""

    model = CartLine
    verbose_name = "line"
    fields = (
        "sku",
        "name",
        "quantity",
        "unit_price",
        "line_total",
        "price_when_added",
        "updated_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CartLine]:
        return super().get_queryset(request).select_related("product").order_by("created_at")

    @admin.display(description="SKU")
    def sku(self, line: CartLine) -> str:
        return line.product.sku

    @admin.display(description="product")
    def name(self, line: CartLine) -> str:
        return line.product.name

    @admin.display(description="unit price")
    def unit_price(self, line: CartLine) -> Decimal:
        return line.product.unit_price

    @admin.display(description="line total")
    def line_total(self, line: CartLine) -> Decimal:
        return line.product.unit_price * line.quantity

    @admin.display(description="price when added")
    def price_when_added(self, line: CartLine) -> Decimal | None:
        return line.unit_price_seen


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
    search_help_text = "A customer's e-mail (or part of it), or a cart, customer or anonymous id."
    readonly_fields = (
        "public_id",
        "tenant",
        "anonymous_id",
        "customer_id",
        "customer",
        "status",
        "merged_into",
        "merged_at",
        "item_count",
        "subtotal",
        "created_at",
        "updated_at",
    )
    inlines = [CartLineInline]
    # Searched in get_search_results; a non-empty tuple makes the admin show its search box.
    search_fields = ("=public_id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Cart], search_term: str
    ) -> tuple[QuerySet[Cart], bool]:
        """An id (cart, customer or anonymous) exactly, or a customer's e-mail in part: carts
        know their customer by id only, so the e-mail is looked up among the customers."""
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = Q(
            customer_id__in=Customer.objects.filter(email__icontains=term).values("public_id")
        )
        try:
            an_id = uuid.UUID(term)
        except ValueError:
            pass
        else:
            matches |= Q(public_id=an_id) | Q(customer_id=an_id) | Q(anonymous_id=an_id)
        return queryset.filter(matches), False

    @admin.display(description="customer")
    def customer(self, cart: Cart) -> str:
        if cart.customer_id is None:
            return "-"
        found = Customer.objects.filter(public_id=cart.customer_id).first()
        if found is None:
            return str(cart.customer_id)
        url = reverse("admin:identity_customer_change", args=[found.pk])
        return format_html('<a href="{}">{}</a>', url, found.email or found.public_id)

    @admin.display(description="items")
    def item_count(self, cart: Cart) -> int:
        return sum(line.quantity for line in cart.lines.all())

    @admin.display(description="subtotal")
    def subtotal(self, cart: Cart) -> str:
        lines = cart.lines.select_related("product")
        total = sum((line.product.unit_price * line.quantity for line in lines), Decimal("0.00"))
        return f"{total:.2f} {cart.tenant.currency}"


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
