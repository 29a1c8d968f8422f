"""The API's own OAuth 2 authorization server: clients (``clients``), the grants of
/oauth/token (``grants``), revocation and introspection (``introspection``), our JWKS and
metadata (``discovery``), and current-customer tokens for third-party apps
(``current_customer``). No DRF here: its services raise DomainError with the token service's
codes (``errors``), and its endpoints (identity.http.oauth_apis) answer them in RFC 6749 form
(``{"error": ..., "error_description": ...}``), not in problem+json, because OAuth clients
expect it.
"""
