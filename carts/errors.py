"""Error codes of carts (4xxx)."""

from core.errors import ErrorCode

SKU_UNKNOWN = ErrorCode(4001, "sku_unknown", 400, "Unknown SKU", "No product has this SKU.")
SKU_INACTIVE = ErrorCode(
    4002, "sku_inactive", 400, "Product not for sale", "The product is no longer for sale."
)
QUANTITY_ABOVE_STOCK = ErrorCode(
    4003,
    "quantity_above_stock",
    400,
    "Not enough stock",
    "The line's quantity would exceed the product's stock.",
)
QUANTITY_ABOVE_MAXIMUM = ErrorCode(
    4004,
    "quantity_above_maximum",
    400,
    "Above the per-order maximum",
    "The line's quantity would exceed the most one order may hold of this product.",
)
TOO_MANY_LINES = ErrorCode(
    4005, "too_many_lines", 400, "Too many lines", "The cart holds the most lines it may."
)
LINE_NOT_FOUND = ErrorCode(
    4006, "cart_line_not_found", 404, "Cart line not found", "The cart has no line for this SKU."
)
MIGRATION_CONFLICT = ErrorCode(
    4010,
    "cart_migration_conflict",
    409,
    "Anonymous cart already migrated",
    "This anonymous id was migrated to another customer; nothing was changed.",
)
ANONYMOUS_ID_RETIRED = ErrorCode(
    4011,
    "anonymous_id_retired",
    409,
    "Anonymous session ended",
    "The anonymous id was migrated to a customer; re-authenticate for a new anonymous id.",
)
MERGE_POLICY_UNKNOWN = ErrorCode(
    4012,
    "merge_policy_unknown",
    400,
    "Unknown merge policy",
    "The storefront app's cart merge policy is not one of max, sum, anonymous_wins, customer_wins.",
)
