"""The Redis cache keeps one client per connection pool (core.redis_cache)."""

from __future__ import annotations

import uuid
from unittest import mock

import pytest
import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from core.counters import cache_counter_increment, cache_counters_increment
from core.redis_cache import RedisCache

pytestmark = pytest.mark.redis


def new_store() -> RedisCache:
    return RedisCache(settings.REDIS_URL, {"KEY_PREFIX": f"test-redis-cache-{uuid.uuid4()}"})


def test_operations_share_one_client_and_work_as_django_s() -> None:
    # given a new cache, whose client Django builds on first use with the patched class
    store = new_store()

    # when set, add, get, incr, delete and a counter run
    with mock.patch.object(redis, "Redis", wraps=redis.Redis) as constructor:
        store.set("a", {"x": 1}, 30)
        added = store.add("a", "other", 30)
        store.set("n", 5, 30)
        counted = store.incr("n", 2)
        value = store.get("a")
        store.delete("a")
        counter = cache_counter_increment("window", 60, store=store)

    # then each did what Django's does, through the one client built
    assert (added, counted, value, store.get("a"), counter) == (False, 7, {"x": 1}, None, 1)
    assert constructor.call_count == 1
    assert store._cache.get_client(write=True) is store._cache.get_client(write=False)
    assert isinstance(store, DjangoRedisCache)  # the counters' one round trip applies


def test_a_client_is_built_per_pool() -> None:
    # given a cache over a primary and a replica (the same server twice, for the test)
    replicated = RedisCache([new_store()._servers[0]] * 2, {})

    # when
    writer = replicated._cache.get_client(write=True)
    reader = replicated._cache.get_client(write=False)

    # then writes go to the first server's pool, reads to the other's, each with its client
    assert writer is not reader
    assert writer.connection_pool is replicated._cache._pools[0]
    assert reader.connection_pool is replicated._cache._pools[1]
    assert replicated._cache.get_client(write=True) is writer


def test_counters_are_counted_together_in_one_transaction() -> None:
    # given a counter already at 1 and one not yet counted
    store = new_store()
    cache_counter_increment("first", 60, store=store)

    # when both are counted together
    with mock.patch.object(
        redis.client.Pipeline, "execute", autospec=True, side_effect=redis.client.Pipeline.execute
    ) as executed:
        counts = cache_counters_increment([("first", 60), ("second", 30)], store=store)

    # then in one round trip each got one more and the new one its own expiry
    assert counts == [2, 1]
    assert executed.call_count == 1
    assert executed.call_args.args[0].transaction  # MULTI/EXEC
    client = store._cache.get_client(write=True)
    assert 0 < client.ttl(store.make_and_validate_key("second")) <= 30
