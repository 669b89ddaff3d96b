"""The cache backend (opsx/cache.py) keeps one redis.Redis per pool instead of one per call."""

from django.core.cache import cache, caches

from opsx.cache import RedisCache


def test_cache_calls_share_one_redis_client_and_still_store_and_read():
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    first = backend._cache.get_client("a")
    assert backend._cache.get_client("b", write=True) is first
    cache.set("opsx-cache-probe", {"n": 1}, 30)
    assert cache.get_many(["opsx-cache-probe", "missing"]) == {"opsx-cache-probe": {"n": 1}}
    cache.delete("opsx-cache-probe")
    assert cache.get("opsx-cache-probe") is None
