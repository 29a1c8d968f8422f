"""Error codes of authentication and identity (2xxx)."""

from core.errors import ErrorCode

BEARER_SCHEME_REQUIRED = ErrorCode(
    2002,
    "bearer_scheme_required",
    401,
    "Bearer scheme required",
    "Send the token as 'Authorization: Bearer <token>'.",
)
TOKEN_INVALID = ErrorCode(
    2010,
    "token_invalid",
    401,
    "Invalid token",
    "The bearer token is malformed, wrongly signed, of the wrong kind or missing claims.",
)
TOKEN_EXPIRED = ErrorCode(
    2011, "token_expired", 401, "Token expired", "The bearer token has expired; get a new one."
)
TOKEN_REVOKED = ErrorCode(
    2012,
    "token_revoked",
    401,
    "Token revoked",
    "The token, or the storefront app or identity provider it came from, is no longer valid.",
)
AUTH_KEY_MISSING = ErrorCode(
    2020, "auth_key_missing", 401, "X-Auth-Key required", "Send the storefront's X-Auth-Key."
)
AUTH_KEY_INVALID = ErrorCode(
    2021,
    "auth_key_invalid",
    401,
    "Invalid X-Auth-Key",
    "The X-Auth-Key is unknown or revoked, or its storefront app is inactive.",
)
CONTEXT_MISSING = ErrorCode(
    2030,
    "customer_context_missing",
    401,
    "Customer context required",
    "Send X-Customer-Context from GET /commerceapi/authentication/customercontext.",
)
CONTEXT_INVALID = ErrorCode(
    2031,
    "customer_context_invalid",
    401,
    "Invalid customer context",
    "The customer context is malformed, wrongly signed or not a customer context.",
)
CONTEXT_MISMATCH = ErrorCode(
    2032,
    "customer_context_mismatch",
    401,
    "Customer context does not match the bearer",
    "The customer context was minted for another bearer token; mint a new one.",
)
CONTEXT_EXPIRED = ErrorCode(
    2033,
    "customer_context_expired",
    401,
    "Customer context expired",
    "The customer context has expired; mint a new one.",
)
SHOPPER_REQUIRED = ErrorCode(
    2040,
    "shopper_required",
    403,
    "Shopper token required",
    "This endpoint is for shoppers: an anonymous or customer bearer token with its context.",
)
ANONYMOUS_ID_INVALID = ErrorCode(
    2050,
    "anonymous_id_invalid",
    400,
    "Invalid anonymous id",
    "anonymousAuthenticationRequest must be a UUID.",
)
INSUFFICIENT_SCOPE = ErrorCode(
    2041,
    "insufficient_scope",
    403,
    "Insufficient scope",
    "The credentials are valid but lack the scope this endpoint needs.",
)
PROVIDER_UNKNOWN = ErrorCode(
    2060,
    "identity_provider_unknown",
    401,
    "Unknown token issuer",
    "The token's issuer is not an identity provider enabled for this tenant.",
)
PROVIDER_UNAVAILABLE = ErrorCode(
    2061,
    "identity_provider_unavailable",
    503,
    "Identity provider unavailable",
    "The provider's signing keys could not be fetched and none are cached; retry shortly.",
)
ID_TOKEN_REFUSED = ErrorCode(
    2062,
    "id_token_refused",
    401,
    "ID token refused",
    "An ID token was sent where an access token is required.",
)
TENANT_UNDETERMINED = ErrorCode(
    2063,
    "tenant_undetermined",
    401,
    "Tenant cannot be determined",
    "Several tenants trust this issuer; send the storefront's X-Auth-Key with the request.",
)
CUSTOMER_DEACTIVATED = ErrorCode(
    2064,
    "customer_deactivated",
    401,
    "Customer deactivated",
    "The customer's account is deactivated; its tokens and contexts no longer work.",
)
CUSTOMER_REQUIRED = ErrorCode(
    2042,
    "customer_required",
    403,
    "Customer required",
    "This endpoint is for signed-in customers; the caller is an anonymous shopper.",
)
ANONYMOUS_SESSION_ENDED = ErrorCode(
    2013,
    "anonymous_session_ended",
    401,
    "Anonymous session ended",
    "The anonymous id was migrated to a customer. Re-authenticate (POST "
    "/commerceapi/authentication/) for a new anonymous id, or use the customer's session.",
)
ANONYMOUS_TOKEN_REQUIRED = ErrorCode(
    2051,
    "anonymous_token_required",
    400,
    "Anonymous token required",
    "Send anonymousToken, the anonymous session's token, to prove the anonymous id is yours.",
)
ANONYMOUS_TOKEN_INVALID = ErrorCode(
    2052,
    "anonymous_token_invalid",
    403,
    "Anonymous token does not prove the id",
    "anonymousToken is not a valid anonymous token of this tenant for anonymousId.",
)
EMAIL_TAKEN = ErrorCode(
    2070,
    "email_taken",
    409,
    "E-mail taken",
    "A customer account with this e-mail exists already in this shop.",
)
THIRD_PARTY_APP_UNKNOWN = ErrorCode(
    2071,
    "third_party_app_unknown",
    404,
    "Unknown app",
    "app_client_id names no active third-party app of this shop.",
)
NO_CURRENT_CUSTOMER = ErrorCode(
    2072,
    "no_current_customer",
    404,
    "No signed-in customer",
    "The shopper is anonymous: there is no current customer to name.",
)

# --- The token service (/oauth/*) -------------------------------------------------------------
# Its services raise these like any other; its endpoints answer them in RFC 6749 form instead
# of as problem documents: ``error`` is the slug, ``error_description`` the detail.
OAUTH_INVALID_REQUEST = ErrorCode(
    2080,
    "invalid_request",
    400,
    "Invalid token request",
    "OAuth endpoints: a parameter is missing, repeated, too long or malformed.",
)
OAUTH_INVALID_CLIENT = ErrorCode(
    2081,
    "invalid_client",
    401,
    "Client authentication failed",
    "OAuth endpoints: an unknown or inactive client, or a wrong, expired or missing secret.",
)
OAUTH_INVALID_GRANT = ErrorCode(
    2082,
    "invalid_grant",
    400,
    "Invalid grant",
    "OAuth endpoints: a wrong e-mail or password, or a refresh or subject token that is "
    "invalid, expired, revoked or another client's.",
)
OAUTH_UNAUTHORIZED_CLIENT = ErrorCode(
    2083,
    "unauthorized_client",
    400,
    "Grant not allowed",
    "OAuth endpoints: the client may not use this grant.",
)
OAUTH_UNSUPPORTED_GRANT_TYPE = ErrorCode(
    2084,
    "unsupported_grant_type",
    400,
    "Unknown grant type",
    "OAuth endpoints: the grant_type is none the token service knows.",
)
OAUTH_INVALID_SCOPE = ErrorCode(
    2085,
    "invalid_scope",
    400,
    "Invalid scope",
    "OAuth endpoints: the scope is malformed, or beyond what the client or subject holds.",
)
OAUTH_INVALID_TARGET = ErrorCode(
    2086,
    "invalid_target",
    400,
    "Unknown audience or resource",
    "OAuth endpoints: token exchange names an audience or resource other than this API.",
)
OAUTH_TEMPORARILY_UNAVAILABLE = ErrorCode(
    2087,
    "temporarily_unavailable",
    503,
    "Temporarily unavailable",
    "OAuth endpoints: the subject's identity provider cannot be reached; retry shortly.",
)

# API keys of the server-to-server surfaces, Supplier and Payment (21xx).
API_KEY_INVALID = ErrorCode(
    2100,
    "api_key_invalid",
    401,
    "Valid API key required",
    "Send the integration's key as 'ApiKey: <key>'. The key was missing, malformed, unknown, "
    "expired or revoked, or not of the tenant named in X-Tenant; other credentials (bearer "
    "tokens, X-Auth-Keys, keys in the query string) are not accepted here.",
)
API_KEY_WRONG_SURFACE = ErrorCode(
    2101,
    "api_key_wrong_surface",
    403,
    "API key of another surface",
    "The key is valid but was issued for the other server-to-server surface (a supplier key "
    "calls /supplier/, a payment key /payment/).",
)
API_KEY_SCOPE_MISSING = ErrorCode(
    2102,
    "api_key_scope_missing",
    403,
    "API key lacks the scope",
    "The key is valid but does not hold the scope this endpoint needs.",
)
API_KEY_SURFACE_DISABLED = ErrorCode(
    2103,
    "api_key_surface_disabled",
    403,
    "Surface switched off for the tenant",
    "The key is valid but its tenant has switched this surface off.",
)
API_KEY_NOT_ACCEPTED = ErrorCode(
    2104,
    "api_key_not_accepted",
    403,
    "API keys are not accepted here",
    "API keys are the credential of /supplier/ and /payment/ only; shopper, OAuth, reseller and "
    "admin endpoints refuse them. Use this surface's own credential.",
)
API_KEY_NOT_LIVE = ErrorCode(
    2105,
    "api_key_not_live",
    409,
    "API key revoked or expired",
    "The key is revoked or has expired: it cannot be rolled. Create a new one.",
)
API_KEY_SCOPE_UNKNOWN = ErrorCode(
    2106,
    "api_key_scope_unknown",
    400,
    "Unknown API key scope",
    "A scope is not one of the key's surface; see the surface's documentation.",
)
API_KEY_PARTY_INVALID = ErrorCode(
    2107,
    "api_key_party_invalid",
    400,
    "API key party invalid",
    "A supplier key names an active supplier of the tenant (and no provider); a payment key "
    "names a provider (and no supplier).",
)
SUPPLIER_CODE_TAKEN = ErrorCode(
    2108,
    "supplier_code_taken",
    409,
    "Supplier code taken",
    "The tenant already has a supplier with this code.",
)
API_KEY_NOT_FOUND = ErrorCode(
    2109, "api_key_not_found", 404, "API key not found", "No API key has this id."
)
