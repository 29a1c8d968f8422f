"""Response headers the API layers share."""

# Answers that carry a token or a secret, and every answer of the OAuth endpoints (RFC 6749
# section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
