"""LiteLLM's `Cache` (`litellm.cache = Cache(type="local" | "redis" | "disk")`) over the
core `Cache` interceptor and Conduit's cache backends: nothing is cached here, the
interceptor (`conduit.interceptors.Cache`) does it, with `MemoryCache`, `RedisCache` or
`SQLiteCache` (LiteLLM's disk cache) as the store.

As in LiteLLM, a cache set as `litellm.cache` answers every `completion()` unless the
call says `caching=False` (or `cache={"no-cache": True}`); with `mode="default_off"`
only calls that say `caching=True`. A cached answer is free (`response_cost` 0.0) and
says `_hidden_params["cache_hit"] = True`.

Example:
    >>> import conduit.compat as litellm
    >>> litellm.cache = Cache()                      # type="local"
    >>> a = litellm.completion(model="fake/echo", messages="Hi")
    >>> b = litellm.completion(model="fake/echo", messages="Hi")
    >>> b._hidden_params["cache_hit"], a.choices[0].message.content == b.choices[0].message.content
    (True, True)
    >>> litellm.cache = None
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from conduit.errors import ValidationError
from conduit.interceptors.cache import Cache as CoreCache
from conduit.storage.cache import CacheBackend, MemoryCache

__all__ = ["Cache", "DualCache", "InMemoryCache", "RedisCache", "uses_cache"]

_TYPES = ("local", "redis", "redis-semantic", "disk", "s3", "qdrant-semantic")


class Cache:
    """LiteLLM's cache settings as a core `Cache` interceptor (`interceptor`):
    `type="local"` (in memory), `"redis"` (`host`, `port`, `password`, or `url`; shared
    by processes) or `"disk"` (SQLite under `disk_cache_dir`); `ttl` in seconds;
    `mode="default_on"` (every call) or `"default_off"` (calls with `caching=True`).

    Example:
        >>> Cache(type="disk", disk_cache_dir=None).type
        'disk'
    """

    def __init__(
        self,
        type: str = "local",
        host: str | None = None,
        port: str | int | None = None,
        password: str | None = None,
        namespace: str | None = None,
        ttl: float | None = None,
        default_in_memory_ttl: float | None = None,
        disk_cache_dir: str | os.PathLike[str] | None = None,
        mode: str | None = "default_on",
        url: str | None = None,
        supported_call_types: Any = None,
        **_: Any,  # LiteLLM's other settings (similarity_threshold, s3_*, ...)
    ) -> None:
        kind = str(getattr(type, "value", type))
        if kind not in _TYPES:
            raise ValidationError(f"Cache(type=) is one of {', '.join(_TYPES)}, not {type!r}")
        if kind in ("redis-semantic", "s3", "qdrant-semantic"):
            raise ValidationError(
                f"Cache(type={kind!r}) is not provided by Conduit; use 'local', 'redis' or 'disk'"
            )
        mode_name = str(getattr(mode, "value", mode or "default_on"))
        if mode_name not in ("default_on", "default_off"):
            raise ValidationError(f"mode must be 'default_on' or 'default_off', not {mode!r}")
        self.type = kind
        self.mode = mode_name
        self.ttl = ttl if ttl is not None else default_in_memory_ttl
        self.namespace = namespace
        self.supported_call_types = supported_call_types
        store: CacheBackend
        if kind == "local":
            store = MemoryCache()
        elif kind == "redis":
            from conduit.storage.redis import RedisCache as RedisStore

            if url is None:
                auth = f":{password}@" if password else ""
                url = f"redis://{auth}{host or '127.0.0.1'}:{port or 6379}"
            prefix = f"{namespace}:" if namespace else "conduit:cache:"
            store = RedisStore(url=url, prefix=prefix)
        else:
            from conduit.storage.sqlite import SQLiteCache

            folder = Path(disk_cache_dir) if disk_cache_dir else Path(".litellm_cache")
            folder.mkdir(parents=True, exist_ok=True)
            store = SQLiteCache(folder / "cache.sqlite3")
        self.interceptor = CoreCache(store, ttl=self.ttl)

    @property
    def cache(self) -> CacheBackend:
        """The backend the answers are kept in."""
        return self.interceptor.store

    def __repr__(self) -> str:
        return f"Cache(type={self.type!r}, mode={self.mode!r})"


class InMemoryCache(Cache):
    """`Cache(type="local")` (LiteLLM's name for the in-memory cache)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("local", **kwargs)


class RedisCache(Cache):
    """`Cache(type="redis")` (LiteLLM's name for the Redis cache)."""

    def __init__(self, host: str | None = None, port: Any = None, **kwargs: Any) -> None:
        super().__init__("redis", host=host, port=port, **kwargs)


DualCache = InMemoryCache
"""LiteLLM's in-memory-plus-Redis cache; here the in-memory one."""


def uses_cache(cache: Any, caching: Any, flags: Any) -> bool:
    """Whether a call goes through `litellm.cache`: LiteLLM's rule (`caching=True`, or
    the cache is on by default and the call does not say `caching=False`), unless
    `cache={"no-cache": True}`.

    Example:
        >>> uses_cache(Cache(), None, None), uses_cache(Cache(mode="default_off"), None, None)
        (True, False)
    """
    if not isinstance(cache, Cache):
        return False
    if isinstance(flags, dict) and (flags.get("no-cache") or flags.get("no_cache")):
        return False
    if caching is None:
        return cache.mode == "default_on"
    return bool(caching)
