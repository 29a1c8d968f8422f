"""/healthz: the process answers. /readyz: the database and the cache answer too, and which
cache backs revocation and throttling (and whether other processes see it)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    ready = all(checks.values())
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {k: "ok" if v else "down" for k, v in checks.items()},
            "cache": cache_description(),
        },
        status=200 if ready else 503,
    )


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any driver failure means "not ready", never a 500
        logger.warning("readiness: database unreachable", exc_info=True)
        return False


def _cache_ok() -> bool:
    try:
        cache.set("readyz", "1", 5)
        return cache.get("readyz") == "1"
    except Exception:  # any client failure means "not ready", never a 500
        logger.warning("readiness: cache unreachable", exc_info=True)
        return False


# What each cache backend is, and who else sees its entries.
_CACHES = {
    "core.redis_cache.RedisCache": ("redis", "every process using this Redis"),
    "django.core.cache.backends.redis.RedisCache": ("redis", "every process using this Redis"),
    "core.database_cache.DatabaseCache": ("database", "every process using this database"),
    "django.core.cache.backends.locmem.LocMemCache": ("local-memory", "this process only"),
}


def cache_description() -> dict[str, str]:
    """The cache that backs revocation, key lookups, throttling and the sign-in lockout."""
    backend = settings.CACHES["default"]["BACKEND"]
    kind, shared_by = _CACHES.get(backend, (backend, "unknown"))
    return {"backend": kind, "sharedBy": shared_by}
