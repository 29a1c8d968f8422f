"""Scopes: what a token lets its holder do. Endpoints name the scope they need (``HasScope``).

Tokens of the token service carry the scopes they were granted (``scope``, space-separated as in
RFC 9068). A shopper token without a ``scope`` claim (an X-Auth-Key anonymous token, an external
provider's token) holds every shopper scope of its kind, as before scopes existed.
"""

from __future__ import annotations

import re

CATALOG_READ = "catalog:read"
CART_READ = "cart:read"
CART_WRITE = "cart:write"
CUSTOMER_READ = "customer:read"
CUSTOMERS_CREATE = "customers:create"
ORDERS_READ = "orders:read"
ORDERS_WRITE = "orders:write"

ALL_SCOPES = (
    CATALOG_READ,
    CART_READ,
    CART_WRITE,
    CUSTOMER_READ,
    CUSTOMERS_CREATE,
    ORDERS_READ,
    ORDERS_WRITE,
)
KNOWN_SCOPES = frozenset(ALL_SCOPES)
DESCRIPTIONS = {
    CATALOG_READ: "Read products.",
    CART_READ: "Read the shopper's cart.",
    CART_WRITE: "Change the shopper's cart and migrate an anonymous cart.",
    CUSTOMER_READ: "Read the customer's profile; current-customer tokens for third-party apps.",
    CUSTOMERS_CREATE: "Register customer accounts (POST /commerceapi/customers).",
    ORDERS_READ: "Read the shopper's own orders.",
    ORDERS_WRITE: "Check out the shopper's cart into an order.",
}
# What a guest (anonymous) shopper token may hold, and a customer token.
_SHOPPING = {CATALOG_READ, CART_READ, CART_WRITE, ORDERS_READ, ORDERS_WRITE}
GUEST_SCOPES = frozenset({*_SHOPPING, CUSTOMERS_CREATE})
CUSTOMER_SCOPES = frozenset({*_SHOPPING, CUSTOMER_READ})
# Held by anonymous tokens that carry no scope claim; customers' tokens without one (external
# providers') hold CUSTOMER_SCOPES.
ANONYMOUS_DEFAULT_SCOPES = frozenset(_SHOPPING)

MAX_SCOPE_LENGTH = 500
# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def scope_parse(value: object) -> frozenset[str] | None:
    """The scopes of a ``scope`` string (RFC 6749 section 3.3: names separated by single
    spaces; empty: none); None when it is not one."""
    if not isinstance(value, str) or len(value) > MAX_SCOPE_LENGTH:
        return None
    if value == "":
        return frozenset()
    names = value.split(" ")
    if any(not _SCOPE_TOKEN.fullmatch(name) for name in names):
        return None
    return frozenset(names)


def scope_format(scopes: frozenset[str] | set[str]) -> str:
    return " ".join(sorted(scopes))


# Scopes of API keys, per surface (identity.tenancy.api_keys); never granted to OAuth tokens.
SUPPLIER_PRODUCTS_READ = "supplier:products:read"
SUPPLIER_PRODUCTS_WRITE = "supplier:products:write"
SUPPLIER_STOCK_WRITE = "supplier:stock:write"
PAYMENT_ORDERS_READ = "payment:orders:read"
PAYMENT_EVENTS_WRITE = "payment:events:write"
API_KEY_SCOPES = {
    "supplier": (SUPPLIER_PRODUCTS_READ, SUPPLIER_PRODUCTS_WRITE, SUPPLIER_STOCK_WRITE),
    "payment": (PAYMENT_ORDERS_READ, PAYMENT_EVENTS_WRITE),
}
API_KEY_SCOPE_DESCRIPTIONS = {
    SUPPLIER_PRODUCTS_READ: "List the supplier's own products.",
    SUPPLIER_PRODUCTS_WRITE: "Create and change the supplier's own products.",
    SUPPLIER_STOCK_WRITE: "Set or change the stock of the supplier's own products.",
    PAYMENT_ORDERS_READ: "Read orders and their payment events.",
    PAYMENT_EVENTS_WRITE: "Report payment events on orders.",
}
