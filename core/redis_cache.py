"""Django's Redis cache, with one client per connection pool instead of one per operation.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around the pool for every
cache operation; building one copies the client's table of response callbacks, which costs
more CPU than the round trip it is built for (measured on the bench's machine: a ``GET``
through Django's cache 115 µs of CPU, 45 µs with the client kept; bench/RESULTS.md). A
``redis.Redis`` holds no connection of its own (it takes one from the pool per command) and is
safe to share between threads, so the client here keeps the one it built for each pool.
Django makes a cache object, and so this client, per thread.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    _client: Any  # set by Django's client (not in its type stubs): the class redis.Redis

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[Any, Any] = {}  # by pool

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's choice of server (writes to the first, reads to any other) and its pools.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
