"""The cache backend: Django's Redis cache, keeping one redis.Redis client per connection pool.

Django's RedisCacheClient builds a new redis.Redis for every cache call, about 70 µs each (the
client fills its tables of response callbacks), and a signed-in page makes two or three calls
(the session, the list's choices). A redis.Redis holds nothing but its pool and is safe to
share between threads (redis-py's documentation), so one per pool does the same work.
"""

from django.core.cache.backends import redis as django_redis


class _Client(django_redis.RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(pool)
        if client is None:
            client = clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client
