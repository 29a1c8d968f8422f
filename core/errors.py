"""Error codes of the shared kernel's own components (1xxx, general): idempotency keys."""

from commerceapi.errors import ErrorCode

IDEMPOTENCY_KEY_MISSING = ErrorCode(
    1050,
    "idempotency_key_missing",
    400,
    "Idempotency-Key required",
    "This request may be retried safely only with an Idempotency-Key header; send one, chosen "
    "by the client (1-255 printable ASCII characters), and the same one on every retry.",
)
IDEMPOTENCY_KEY_INVALID = ErrorCode(
    1051,
    "idempotency_key_invalid",
    400,
    "Invalid Idempotency-Key",
    "The Idempotency-Key header must be 1-255 printable ASCII characters.",
)
IDEMPOTENCY_KEY_REUSED = ErrorCode(
    1052,
    "idempotency_key_reused",
    422,
    "Idempotency-Key used for another request",
    "This Idempotency-Key was used with a different request (body or endpoint); use a new key "
    "for a new request. Nothing was done.",
)
IDEMPOTENCY_REQUEST_IN_PROGRESS = ErrorCode(
    1053,
    "idempotency_request_in_progress",
    409,
    "Request with this Idempotency-Key in progress",
    "A request with this Idempotency-Key is still being processed; retry it shortly to get its "
    "answer. Nothing was done.",
)
