"""Counters in the shared cache that live for a window of seconds (throttles, lockouts)."""

from __future__ import annotations

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, cache, caches
from django.core.cache.backends.redis import RedisCache


def cache_counter_increment(key: str, seconds: int, *, store: BaseCache = cache) -> int:
    """Add one to a counter in the cache that lives ``seconds``; its new value.

    On Redis, ``SET NX EX`` and ``INCR`` in one ``MULTI``/``EXEC``: one round trip, atomic
    (Django's ``add`` then ``incr`` take three, ``incr`` checking first that the key exists).
    """
    backend = caches[DEFAULT_CACHE_ALIAS] if store is cache else store
    if isinstance(backend, RedisCache):
        return _redis_counter_increment(backend, key, seconds)
    store.add(key, 0, seconds)
    try:
        return int(store.incr(key))
    except ValueError:  # the counter expired between add and incr
        store.set(key, 1, seconds)
        return 1


def _redis_counter_increment(store: RedisCache, key: str, seconds: int) -> int:
    redis_key = store.make_and_validate_key(key)
    # Django's own client for the key (the server it writes to).
    client = store._cache.get_client(redis_key, write=True)  # type: ignore[attr-defined]
    pipeline = client.pipeline(transaction=True)
    pipeline.set(redis_key, 0, ex=max(1, int(seconds)), nx=True)
    pipeline.incr(redis_key)
    _, value = pipeline.execute()
    return int(value)
