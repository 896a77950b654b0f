"""`litellm.caching`: LiteLLM's `Cache` classes over Conduit's `Cache` interceptor
(see `conduit.compat.caching.caching`).

Example:
    >>> from conduit.compat.caching import Cache
    >>> Cache().type
    'local'
"""

from conduit.compat.caching.caching import Cache, DualCache, InMemoryCache, RedisCache

__all__ = ["Cache", "DualCache", "InMemoryCache", "RedisCache"]
