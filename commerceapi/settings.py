"""Settings, read from the environment (see README "Configuration").

Development defaults let ``make run`` work on a bare machine: SQLite, the database's cache
table, DEBUG on. With DEBUG off every secret must come from the environment or start-up stops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from commerceapi.env import (
    env_bool,
    env_int,
    env_list,
    env_str,
    fernet_keys,
    issuer_url,
    require,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = require(
    "SECRET_KEY", debug=DEBUG, development_default="development-only-secret-key-not-for-production"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "commerceapi",
    "identity",
    "catalog",
    "carts",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "commerceapi.middleware.RequestLimitsMiddleware",
    "identity.http.middleware.ApiKeyElsewhereMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "commerceapi.urls"
WSGI_APPLICATION = "commerceapi.wsgi.application"
ASGI_APPLICATION = "commerceapi.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        # Production names its database: an image must not fall back to a SQLite file of its own.
        require(
            "DATABASE_URL", debug=DEBUG, development_default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
        ),
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers. Taking the write lock when a transaction starts (IMMEDIATE)
    # and waiting for it (timeout) turns concurrent writes into a queue instead of
    # "database is locked" errors.
    # WAL lets readers go on while one writes; synchronous=NORMAL is durable in WAL mode up to
    # a power loss. Connections are kept (opening one per request costs more than the query).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # Server-side binding lets psycopg prepare the statements a connection runs again and
    # again (the cart read, the token checks' lookups): planning them costs more than running
    # them. The pool keeps connections, and so their prepared statements, across requests.
    # Set DATABASE_PREPARED_STATEMENTS=false behind a pooler in transaction mode (PgBouncer).
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
    else:
        DATABASES["default"]["OPTIONS"] = {}
    if env_bool("DATABASE_POOL", True):
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": env_int("DATABASE_POOL_MAX_SIZE", 10, minimum=1),
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The app that holds tenants; carts, catalog and orders refer to tenants through this name.
TENANT_MODEL = "identity.Tenant"
# The app that holds suppliers, whose products the catalog names through this.
SUPPLIER_MODEL = "identity.Supplier"

# --- Cache ---------------------------------------------------------------------------------
# Revocations, key and client lookups, throttles and the sign-in lockout live in the cache, so
# every API process must see the same one. Redis (REDIS_URL) is shared by any number of
# processes on any number of machines. Without it the cache is a table of the database
# (core.database_cache; created by ``manage.py createcachetable``), which the processes using
# that database share: a management command reaches a running server at once. Production
# (DEBUG off) refuses to start without Redis unless the operator states that one process
# serves the API (SINGLE_PROCESS=true). The local-memory cache, seen by one process only, is
# for the test suite, which says so (tests/settings.py).
REDIS_URL = env_str("REDIS_URL", "")
SINGLE_PROCESS = env_bool("SINGLE_PROCESS", False)
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "commerceapi"),
        }
    }
else:
    if not DEBUG and not SINGLE_PROCESS:
        raise ImproperlyConfigured(
            "REDIS_URL is not set. With DEBUG off the API needs a cache that all its processes "
            "share (revocations, throttles, the sign-in lockout): set REDIS_URL, or set "
            "SINGLE_PROCESS=true if exactly one process serves the API (one gunicorn worker)."
        )
    CACHES = {
        "default": {
            "BACKEND": "core.database_cache.DatabaseCache",
            "LOCATION": "commerceapi_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000, "CULL_FREQUENCY": 4},
        }
    }

# --- Security -------------------------------------------------------------------------------
# Fernet keys that encrypt the secrets the API holds (signing keys, third-party apps' secrets):
# the first encrypts, all decrypt (README "Secrets at rest").
SECRETS_ENCRYPTION_KEYS = fernet_keys("SECRETS_ENCRYPTION_KEYS", debug=DEBUG, secret_key=SECRET_KEY)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Request bodies of the shopper API are small; anything larger is refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BODY_BYTES", 64 * 1024, minimum=1024)

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/(commerceapi/.*|oauth/.*|customer/current\.jwt|Orders/Create)$"
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-auth-key",
    "x-customer-context",
]
# Headers of answers that a storefront's script may read (beyond the CORS-safelisted ones):
# when to retry a 429 or 503, why a 401 was refused, whether a checkout was a replay, where the
# new order is.
CORS_EXPOSE_HEADERS = ["retry-after", "www-authenticate", "idempotent-replayed", "location"]

# --- Internationalisation and static files --------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# In development whitenoise serves the apps' static files straight from their folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bodies are read one way only: UTF-8, within the limit, each JSON key once (core.parsers).
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "core.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    # The client address for throttling is the one the last trusted proxy saw; addresses a
    # client writes into X-Forwarded-For itself are ignored.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "anonymous_token_address": env_str("THROTTLE_ANONYMOUS_TOKEN_PER_ADDRESS", "60/min"),
        "anonymous_token_key": env_str("THROTTLE_ANONYMOUS_TOKEN_PER_KEY", "6000/min"),
        "oauth_token_address": env_str("THROTTLE_OAUTH_TOKEN_PER_ADDRESS", "600/min"),
        "oauth_password_address": env_str("THROTTLE_OAUTH_PASSWORD_PER_ADDRESS", "30/min"),
        "oauth_password_client": env_str("THROTTLE_OAUTH_PASSWORD_PER_CLIENT", "1200/min"),
        "customer_register_address": env_str("THROTTLE_CUSTOMER_REGISTER_PER_ADDRESS", "20/min"),
        "api_key": env_str("THROTTLE_API_KEY", "6000/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "commerceapi",
    "DESCRIPTION": (
        "Headless storefront commerce API. Errors are application/problem+json with a stable "
        "numeric `code`; see docs/errors.md."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The OAuth endpoints' client authentication (client_secret_basic), which no DRF
    # authentication class stands for.
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "clientBasic": {
                "type": "http",
                "scheme": "basic",
                "description": "An OAuth client's client_id and client_secret (RFC 6749 2.3.1).",
            }
        }
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi_bodies.body_refusals_document",
        "core.openapi.problem_examples_document",
        "commerceapi.openapi.surface_tags_document",
    ],
}

# --- Tokens ---------------------------------------------------------------------------------
# The API's public address (e.g. https://api.shop.example): the OAuth metadata's endpoints are
# under it. Unset, it is the issuer.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "").rstrip("/")
# The iss of our tokens and the metadata's issuer (RFC 8414): an https URL, the metadata's own
# address; development derives it from PUBLIC_BASE_URL (``make run`` sets it) or uses
# http://127.0.0.1:8000.
TOKEN_ISSUER = issuer_url("TOKEN_ISSUER", debug=DEBUG, public_base_url=PUBLIC_BASE_URL)
if PUBLIC_BASE_URL and PUBLIC_BASE_URL != TOKEN_ISSUER:
    raise ImproperlyConfigured(
        f"PUBLIC_BASE_URL {PUBLIC_BASE_URL!r} and TOKEN_ISSUER {TOKEN_ISSUER!r} differ: the "
        "issuer must be the address the OAuth metadata is served at (RFC 8414); set one of them."
    )
PUBLIC_BASE_URL = TOKEN_ISSUER
TOKEN_AUDIENCE = env_str("TOKEN_AUDIENCE", "commerceapi:storefront")
# Algorithm of new keys for the tokens third parties verify (the token service's access tokens,
# published at /.well-known/jwks.json): ES256 (default), RS256 or EdDSA. Anonymous tokens and
# customer contexts, which only the API verifies, are always HS256.
TOKEN_SIGNING_ALGORITHM = env_str("TOKEN_SIGNING_ALGORITHM", "ES256")
if TOKEN_SIGNING_ALGORITHM not in ("ES256", "RS256", "EdDSA"):
    raise ImproperlyConfigured(
        f"TOKEN_SIGNING_ALGORITHM {TOKEN_SIGNING_ALGORITHM!r}: use ES256, RS256 or EdDSA (the "
        "tokens it signs are verified by third parties with the published public keys)."
    )
# How long an expired anonymous token still proves possession of its anonymous id.
ANONYMOUS_RENEWAL_WINDOW_SECONDS = env_int("ANONYMOUS_RENEWAL_WINDOW_SECONDS", 30 * 24 * 3600)
CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS = env_int(
    "CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS", 7200, minimum=60
)
# Which component says whether an anonymous id is unknown, in use or retired.
ANONYMOUS_ID_STATE = "carts.selectors.anonymous_id_state"

# simplejwt is used for its token classes; our keyring backend replaces its single-key backend.
SIMPLE_JWT = {
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "USER_ID_CLAIM": "sub",
    "ALGORITHM": "HS256",
    "SIGNING_KEY": None,
}

# --- Token service (/oauth/token) ------------------------------------------------------------
# Failed password sign-ins for one e-mail before it is locked, and the window (seconds).
PASSWORD_LOCKOUT_ATTEMPTS = env_int("PASSWORD_LOCKOUT_ATTEMPTS", 5, minimum=1)
PASSWORD_LOCKOUT_SECONDS = env_int("PASSWORD_LOCKOUT_SECONDS", 900, minimum=1)
# The largest custom-claims object a token exchange may put in a token (bytes of JSON).
OAUTH_CUSTOM_CLAIMS_MAX_BYTES = env_int("OAUTH_CUSTOM_CLAIMS_MAX_BYTES", 2048, minimum=2)
# Lifetime of a current-customer token for third-party apps.
CURRENT_CUSTOMER_TOKEN_SECONDS = env_int("CURRENT_CUSTOMER_TOKEN_SECONDS", 900, minimum=60)
# A refresh token used once may be presented again by the same client within this many seconds
# (a retry after a lost answer) and gets the same answer again, once; later it revokes the
# sign-in.
REFRESH_TOKEN_REUSE_GRACE_SECONDS = env_int("REFRESH_TOKEN_REUSE_GRACE_SECONDS", 5)

# --- Carts ----------------------------------------------------------------------------------
CART_MAX_LINES = env_int("CART_MAX_LINES", 100, minimum=1)
CART_MAX_QUANTITY_PER_LINE = env_int("CART_MAX_QUANTITY_PER_LINE", 9999, minimum=1)

# --- Orders and idempotency keys -------------------------------------------------------------
# How long a successful answer is kept for replays of its Idempotency-Key (at least a day).
IDEMPOTENCY_KEY_RETENTION_SECONDS = env_int(
    "IDEMPOTENCY_KEY_RETENTION_SECONDS", 24 * 3600, minimum=24 * 3600
)
# How long a request waits for another one with the same key before answering 409 (1053).
IDEMPOTENCY_WAIT_SECONDS = env_int("IDEMPOTENCY_WAIT_SECONDS", 10, minimum=1)

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- External identity providers ------------------------------------------------------------
# Timeout of one request to a provider (discovery, JWKS).
PROVIDER_HTTP_TIMEOUT_SECONDS = env_int("PROVIDER_HTTP_TIMEOUT_SECONDS", 3, minimum=1)
# At most one JWKS fetch per provider per this many seconds (an unknown kid asks for one).
JWKS_COOLDOWN_SECONDS = env_int("JWKS_COOLDOWN_SECONDS", 60, minimum=1)

# --- Events ---------------------------------------------------------------------------------
# Dotted paths of ``handler(event, payload)`` called after commit (e.g. "cart.migrated").
CART_EVENT_HANDLERS = env_list("CART_EVENT_HANDLERS", [])
# The same for order events ("order.placed", "order.status_changed").
ORDER_EVENT_HANDLERS = env_list("ORDER_EVENT_HANDLERS", [])
