"""The API's own OAuth 2 authorization server: clients, /oauth/token, revocation,
introspection, our JWKS and metadata, and current-customer tokens for third-party apps.

Its endpoints answer in RFC 6749 form (``{"error": ..., "error_description": ...}``), not in
problem+json, because OAuth clients expect it.
"""
