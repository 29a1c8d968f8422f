"""Error codes of orders (5xxx) and of partners' orders on the Reseller surface (7xxx)."""

from core.errors import ErrorCode

CART_EMPTY = ErrorCode(
    5001,
    "cart_empty",
    409,
    "Cart is empty",
    "There is nothing to check out: the cart has no lines.",
)
CART_ALREADY_ORDERED = ErrorCode(
    5002,
    "cart_already_ordered",
    409,
    "Cart already ordered",
    "The cart was checked out already (detail names its order); the next line added starts a "
    "new cart. Nothing was ordered now.",
)
ORDER_LINES_UNAVAILABLE = ErrorCode(
    5003,
    "order_lines_unavailable",
    400,
    "Lines cannot be ordered",
    "One or more lines are not for sale, above the stock or above the per-order maximum; "
    "errors[] names each by its SKU (field lines.<SKU>). Nothing was ordered.",
)
ORDER_TOTAL_CHANGED = ErrorCode(
    5004,
    "order_total_changed",
    409,
    "Total changed",
    "The order would cost another total than expectedTotal (prices changed); the answer carries "
    "the new subtotal and total. Nothing was ordered.",
)
EMAIL_REQUIRED = ErrorCode(
    5005,
    "email_required",
    400,
    "E-mail required",
    "A guest's order needs an e-mail address to confirm it to.",
)
ORDER_NOT_FOUND = ErrorCode(
    5006, "order_not_found", 404, "Order not found", "No order of yours has this number."
)
ORDER_TRANSITION_REFUSED = ErrorCode(
    5007,
    "order_transition_refused",
    409,
    "Transition not allowed",
    "The order's status or payment status cannot change this way from where it is now (see the "
    "state machine in the README). Nothing was changed.",
)
ORDER_LINES_INVALID = ErrorCode(
    5008,
    "order_lines_invalid",
    400,
    "Invalid order lines",
    "The list of lines is empty, too long, names a SKU twice or holds a quantity below 1; "
    "errors[] says which. Nothing was ordered.",
)
ORDER_TOTAL_TOO_LARGE = ErrorCode(
    5009,
    "order_total_too_large",
    400,
    "Order total too large",
    "A line's total or the order's total would be above 999999999999.99, the most an order "
    "records; errors[] names each line that alone is above it. Nothing was ordered.",
)

RESELLER_ORDER_NOT_FOUND = ErrorCode(
    7001,
    "reseller_order_not_found",
    404,
    "Order not found",
    "No order of this partner has this number (another partner's or tenant's order is not "
    "this partner's).",
)
RESELLER_ORDER_FILTER_INVALID = ErrorCode(
    7002,
    "reseller_order_filter_invalid",
    400,
    "Invalid filter",
    "The status or externalReference filter of the partner's order list is not one the list "
    "takes; errors[] names the parameter.",
)

# The Payment API (51xx): payment events on orders.
PAYMENT_CURRENCY_MISMATCH = ErrorCode(
    5100,
    "payment_currency_mismatch",
    400,
    "Another currency than the order's",
    "Payment amounts are in the order's currency. Nothing was recorded.",
)
CAPTURE_EXCEEDS_AUTHORIZED = ErrorCode(
    5101,
    "capture_exceeds_authorized",
    409,
    "Capture above the authorized amount",
    "The captures, this one included, would exceed what was authorized. Nothing was recorded.",
)
REFUND_EXCEEDS_CAPTURED = ErrorCode(
    5102,
    "refund_exceeds_captured",
    409,
    "Refund above the captured amount",
    "The refunds, this one included, would exceed what was captured. Nothing was recorded.",
)
PAYMENT_ORDER_NOT_FOUND = ErrorCode(
    5103,
    "payment_order_not_found",
    404,
    "Order not found",
    "The tenant has no order with this number.",
)
