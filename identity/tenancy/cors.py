"""Browser origins allowed per storefront app, on top of ``CORS_ALLOWED_ORIGINS``.

django-cors-headers asks through its ``check_request_enabled`` hook; the set of origins of all
active storefront apps is cached briefly so that a preflight costs no query.
"""

from __future__ import annotations

from typing import Any

from corsheaders.signals import check_request_enabled
from django.core.cache import cache

from identity.models import StorefrontApp

_CACHE_KEY = "cors:storefront-origins"
_CACHE_SECONDS = 60


def storefront_origins() -> frozenset[str]:
    origins = cache.get(_CACHE_KEY)
    if origins is None:
        origins = set()
        for listed in StorefrontApp.objects.filter(is_active=True).values_list(
            "allowed_cors_origins", flat=True
        ):
            origins.update(origin for origin in listed or [] if isinstance(origin, str))
        cache.set(_CACHE_KEY, origins, _CACHE_SECONDS)
    return frozenset(origins)


def _origin_allowed(sender: Any, request: Any, **kwargs: Any) -> bool:
    origin = request.headers.get("Origin")
    return bool(origin) and origin in storefront_origins()


check_request_enabled.connect(_origin_allowed, dispatch_uid="identity.cors.storefront_origins")
