"""Error codes of the catalog (3xxx)."""

from core.errors import ErrorCode

PRODUCT_NOT_FOUND = ErrorCode(
    3001, "product_not_found", 404, "Product not found", "No active product has this SKU."
)
