"""Orders in the admin: read, searched and filtered by operators, moved only through the services
(actions "Mark fulfilled" and "Cancel (restock)"), never added, edited or deleted here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyInline
from core.errors import DomainError
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.services import order_transition
from orders.states import Target


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "name", "unit_price", "quantity", "line_total", "restocked_at")
    readonly_fields = fields


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    verbose_name_plural = "status history"
    fields = ("at", "field", "from_value", "to_value", "actor", "note")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "tenant",
        "status",
        "payment_status",
        "total",
        "currency",
        "email",
        "customer_id",
        "channel",
        "placed_at",
    )
    list_filter = ("status", "payment_status", "placed_at", "channel", "tenant")
    search_fields = ("number", "email", "=customer_id", "=anonymous_id", "external_reference")
    date_hierarchy = "placed_at"
    ordering = ("-placed_at", "-pk")
    readonly_fields = (
        "number",
        "tenant",
        "status",
        "payment_status",
        "channel",
        "currency",
        "item_count",
        "subtotal",
        "total",
        "email",
        "customer_id",
        "anonymous_id",
        "storefront_app_id",
        "partner_id",
        "customer_name",
        "external_reference",
        "cart_link",
        "placed_at",
        "updated_at",
        "public_id",
    )
    exclude = ("cart", "sequence")
    inlines = [OrderLineInline, OrderStatusChangeInline]
    actions = ["mark_fulfilled", "cancel_and_restock"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An order is never edited: its page is read-only. The permission to change orders is
        # what the actions require.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="cart")
    def cart_link(self, order: Order) -> str:
        if order.cart_id is None:
            return "-"
        url = reverse("admin:carts_cart_change", args=[order.cart_id])
        return format_html('<a href="{}">{}</a>', url, order.cart_id)

    @admin.action(description="Mark fulfilled", permissions=["change"])
    def mark_fulfilled(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, OrderStatus.FULFILLED, "Marked fulfilled")

    @admin.action(description="Cancel (restock)", permissions=["change"])
    def cancel_and_restock(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, OrderStatus.CANCELLED, "Cancelled and restocked")

    def _transition(
        self, request: HttpRequest, queryset: QuerySet[Order], target: Target, done: str
    ) -> None:
        """Each order through the service; a refused one is reported, the others go on."""
        moved = []
        actor = f"operator:{request.user.get_username()}"
        for order_id, number in queryset.order_by("pk").values_list("pk", "number"):
            try:
                order_transition(order_id=order_id, target=target, actor=actor)
            except DomainError as error:
                self.message_user(request, f"{number}: {error.detail}", messages.ERROR)
            else:
                moved.append(number)
        if moved:
            self.message_user(request, f"{done}: {', '.join(moved)}.", messages.SUCCESS)
