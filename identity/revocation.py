"""Revoked subjects: the database is the source of truth, the shared cache answers requests.

A request asks ``revoked_keys(keys)``: one ``get_many`` on the cache. A key the cache does not
hold is looked up in the database once and its answer cached, so that a flushed or evicted cache
costs a query, never a forgotten revocation. Writes go to the database and, after commit, to
the cache, which every API process shares when ``REDIS_URL`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from identity.models import Revocation

_CACHE_PREFIX = "revoked:"
_CACHE_SECONDS = 300
_REVOKED = "1"
_NOT_REVOKED = "0"


def app_revocation_key(app_id: str) -> str:
    return f"app:{app_id}"


def tenant_revocation_key(tenant_id: int) -> str:
    return f"tenant:{tenant_id}"


def anonymous_revocation_key(tenant_id: int, anonymous_id: str) -> str:
    return f"anonymous:{tenant_id}:{anonymous_id}"


def revocation_add(*, key: str, reason: str = "", expires_at: datetime | None = None) -> None:
    Revocation.objects.update_or_create(
        key=key, defaults={"reason": reason, "expires_at": expires_at}
    )
    transaction.on_commit(lambda: cache.set(_CACHE_PREFIX + key, _REVOKED, _CACHE_SECONDS))


def revocation_remove(*, key: str) -> None:
    Revocation.objects.filter(key=key).delete()
    transaction.on_commit(lambda: cache.set(_CACHE_PREFIX + key, _NOT_REVOKED, _CACHE_SECONDS))


def revoked_keys(keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are revoked: one cache read, a query only for keys not cached."""
    cache_keys = [_CACHE_PREFIX + key for key in keys]
    cached = cache.get_many(cache_keys)
    revoked = {key[len(_CACHE_PREFIX) :] for key, value in cached.items() if value == _REVOKED}
    missing = [key[len(_CACHE_PREFIX) :] for key in cache_keys if key not in cached]
    if not missing:
        return revoked
    now = timezone.now()
    found = set(
        Revocation.objects.filter(key__in=missing)
        .exclude(expires_at__lte=now)
        .values_list("key", flat=True)
    )
    for key in missing:
        # ``add``, not ``set``: a revocation committed meanwhile has written "revoked" already.
        cache.add(_CACHE_PREFIX + key, _REVOKED if key in found else _NOT_REVOKED, _CACHE_SECONDS)
    return revoked | found
