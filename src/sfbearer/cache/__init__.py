"""Token caches: memory (the default), file and Redis (shared across processes and hosts).

Example:
    >>> from sfbearer.cache import make_cache
    >>> make_cache("memory")
    <MemoryCache entries=0>
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sfbearer._exceptions import ConfigError
from sfbearer.cache._base import TokenCache, cache_key
from sfbearer.cache.memory import MemoryCache

if TYPE_CHECKING:
    from sfbearer.cache.file import FileCache
    from sfbearer.cache.redis_cache import RedisCache

__all__ = ["FileCache", "MemoryCache", "RedisCache", "TokenCache", "cache_key", "make_cache"]

# Imported on first use: the Redis cache needs the optional ``redis`` package.
_LAZY = {"FileCache": "sfbearer.cache.file", "RedisCache": "sfbearer.cache.redis_cache"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sfbearer.cache' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def make_cache(spec: str | TokenCache | Any | None) -> TokenCache:
    """Build a cache from a spec: ``memory``, ``file:PATH``, ``redis://...`` or a cache object.

    ``file:`` and ``redis://`` caches live in ``sfbearer.cache.file`` /
    ``sfbearer.cache.redis_cache`` and each provides ``from_spec(spec)``; an existing
    ``redis.Redis`` client is accepted too.

    Raises:
        ConfigError: an unknown spec, or a cache whose module is not available.
    """
    if spec is None:
        return MemoryCache()
    if not isinstance(spec, str):
        if isinstance(spec, TokenCache):
            return spec
        if type(spec).__module__.split(".")[0] == "redis" and hasattr(spec, "register_script"):
            # an existing redis.Redis client: share tokens through it
            from sfbearer.cache.redis_cache import from_client

            return from_client(spec)
        raise ConfigError(f"not a token cache: {type(spec).__name__}")
    text = spec.strip()
    if text in ("", "memory"):
        return MemoryCache()
    if text.startswith("file:"):
        module_name, kind = "sfbearer.cache.file", "file"
    elif text.startswith(("redis://", "rediss://", "unix://")):
        module_name, kind = "sfbearer.cache.redis_cache", "Redis"
    else:
        raise ConfigError(
            f"unknown token cache {text!r}",
            hint="use memory, file:PATH or redis://HOST:PORT/DB",
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise ConfigError(
                f"the {kind} token cache needs the {exc.name!r} package",
                hint="pip install 'sfbearer[redis]'" if kind == "Redis" else "",
            ) from None
        raise ConfigError(f"the {kind} token cache is not available yet") from None
    factory = getattr(module, "from_spec", None)
    if factory is None:
        raise ConfigError(f"the {kind} token cache is not available yet")
    cache = factory(text)
    if not isinstance(cache, TokenCache):
        raise ConfigError(f"{module_name}.from_spec returned {type(cache).__name__}")
    return cache
