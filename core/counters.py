"""Counters in the shared cache that live for a window of seconds (throttles, lockouts)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, cache, caches
from django.core.cache.backends.redis import RedisCache


def cache_counter_increment(key: str, seconds: int, *, store: BaseCache = cache) -> int:
    """Add one to a counter in the cache that lives ``seconds``; its new value.

    On Redis, ``SET NX EX`` and ``INCR`` in one ``MULTI``/``EXEC``: one round trip, atomic
    (Django's ``add`` then ``incr`` take three, ``incr`` checking first that the key exists).
    """
    return cache_counters_increment([(key, seconds)], store=store)[0]


def cache_counters_increment(
    counters: Sequence[tuple[str, int]], *, store: BaseCache = cache
) -> list[int]:
    """Add one to each ``(key, seconds)`` counter, as ``cache_counter_increment`` does; their
    new values, in order. On Redis all of them in one ``MULTI``/``EXEC``: one round trip."""
    backend = caches[DEFAULT_CACHE_ALIAS] if store is cache else store
    if isinstance(backend, RedisCache):
        return _redis_counters_increment(backend, counters)
    return [_counter_increment(store, key, seconds) for key, seconds in counters]


def _counter_increment(store: BaseCache, key: str, seconds: int) -> int:
    store.add(key, 0, seconds)
    try:
        return int(store.incr(key))
    except ValueError:  # the counter expired between add and incr
        store.set(key, 1, seconds)
        return 1


def _redis_counters_increment(store: RedisCache, counters: Sequence[tuple[str, int]]) -> list[int]:
    if not counters:
        return []
    redis_keys = [(store.make_and_validate_key(key), seconds) for key, seconds in counters]
    # Django's own client for the first key (the server it writes to; one server holds all).
    client = store._cache.get_client(redis_keys[0][0], write=True)  # type: ignore[attr-defined]
    pipeline = client.pipeline(transaction=True)
    for redis_key, seconds in redis_keys:
        pipeline.set(redis_key, 0, ex=max(1, int(seconds)), nx=True)
        pipeline.incr(redis_key)
    values = pipeline.execute()
    return [int(value) for value in values[1::2]]
