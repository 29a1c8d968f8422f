"""Counters in the shared cache that live for a window of seconds (throttles, lockouts)."""

from __future__ import annotations

from django.core.cache import BaseCache, cache


def cache_counter_increment(key: str, seconds: int, *, store: BaseCache = cache) -> int:
    """Add one to a counter in the cache that lives ``seconds``; its new value."""
    store.add(key, 0, seconds)
    try:
        return int(store.incr(key))
    except ValueError:  # the counter expired between add and incr
        store.set(key, 1, seconds)
        return 1
