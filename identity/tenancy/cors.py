"""Browser origins allowed per storefront app, on top of ``CORS_ALLOWED_ORIGINS``.

django-cors-headers asks through its ``check_request_enabled`` hook; the set of origins of all
active storefront apps is cached briefly so that a preflight costs no query, and written again
when an app changes. The hook answers only for the API's paths (``CORS_URLS_REGEX``): the
library takes a yes from it as "CORS on" for any path, and a storefront's origin has no business
reading the admin, the docs page or the schema.
"""

from __future__ import annotations

import re
from typing import Any

from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from identity.models import StorefrontApp

_CACHE_KEY = "cors:storefront-origins"
_CACHE_SECONDS = 60


def storefront_origins() -> frozenset[str]:
    origins = cache.get(_CACHE_KEY)
    if origins is None:
        origins = _origins_from_database()
        cache.set(_CACHE_KEY, origins, _CACHE_SECONDS)
    return frozenset(origins)


def _origins_from_database() -> set[str]:
    origins: set[str] = set()
    for listed in StorefrontApp.objects.filter(is_active=True, tenant__is_active=True).values_list(
        "allowed_cors_origins", flat=True
    ):
        origins.update(origin for origin in listed or [] if isinstance(origin, str))
    return origins


def storefront_origins_refresh_on_commit() -> None:
    """After an app's origins or its active flag change, every process sees the new set."""
    transaction.on_commit(lambda: cache.set(_CACHE_KEY, _origins_from_database(), _CACHE_SECONDS))


def _origin_allowed(sender: Any, request: Any, **kwargs: Any) -> bool:
    origin = request.headers.get("Origin")
    if not origin or not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    return origin in storefront_origins()


check_request_enabled.connect(_origin_allowed, dispatch_uid="identity.cors.storefront_origins")
