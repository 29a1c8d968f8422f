"""Error codes of the catalog (3xxx)."""

from core.errors import ErrorCode

PRODUCT_NOT_FOUND = ErrorCode(
    3001, "product_not_found", 404, "Product not found", "No active product has this SKU."
)

# The Supplier API (6xxx): a supplier's own products and their stock.
SUPPLIER_PRODUCT_NOT_FOUND = ErrorCode(
    6000,
    "supplier_product_not_found",
    404,
    "Product not found",
    "The supplier has no product with this SKU.",
)
SUPPLIER_SKU_TAKEN = ErrorCode(
    6001,
    "supplier_sku_taken",
    409,
    "SKU taken by the shop",
    "The shop sells a product of its own under this SKU; a supplier cannot take it over. "
    "Choose another SKU. Nothing was changed.",
)
STOCK_BELOW_ZERO = ErrorCode(
    6002,
    "stock_below_zero",
    409,
    "Stock would go below zero",
    "The change would take the stock below zero; it was not applied.",
)
STOCK_UNLIMITED = ErrorCode(
    6003,
    "stock_unlimited",
    409,
    "Stock is unlimited",
    "The product's stock is unlimited (null): set a number first (mode set), then change it "
    "by deltas.",
)
STOCK_REJECTED = ErrorCode(
    6004,
    "stock_rejected",
    409,
    "Stock update rejected",
    "At least one row could not be applied and errorPolicy is reject_all: nothing was "
    "changed. results[] says what was wrong with each row.",
)
STOCK_SKU_REPEATED = ErrorCode(
    6005,
    "stock_sku_repeated",
    400,
    "SKU repeated",
    "A stock update names each SKU at most once.",
)
STOCK_ABOVE_MAXIMUM = ErrorCode(
    6006,
    "stock_above_maximum",
    409,
    "Stock would exceed the maximum",
    "The change would take the stock above 2,000,000,000; it was not applied.",
)
