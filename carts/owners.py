"""Whose cart: an anonymous id or a customer id within a tenant, as plain ids."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q


@dataclass(frozen=True)
class CartOwner:
    """Whose cart: an anonymous id or a customer id, within a tenant."""

    tenant_id: int
    anonymous_id: str | None = None
    customer_id: str | None = None
    # The storefront app the shopper uses; recorded on a cart when it is created.
    storefront_app_id: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if (self.anonymous_id is None) == (self.customer_id is None):
            raise ValueError("a cart owner is either an anonymous id or a customer id")

    @property
    def is_anonymous(self) -> bool:
        return self.customer_id is None

    def carts_filter(self) -> Q:
        """The owner's carts, whatever their status."""
        if self.customer_id is not None:
            return Q(tenant_id=self.tenant_id, customer_id=self.customer_id)
        return Q(tenant_id=self.tenant_id, anonymous_id=self.anonymous_id, customer_id__isnull=True)

    def open_cart_filter(self) -> Q:
        return self.carts_filter() & Q(status="open")
