"""Providers: one adapter per wire API, one registry entry per vendor.

Example:
    >>> from conduit.providers import provider_names
    >>> "openai" in provider_names()
    True
"""

from conduit.providers.registry import (
    ProviderSpec,
    get_provider,
    load_class,
    provider_names,
    register_provider,
)

__all__ = ["ProviderSpec", "get_provider", "load_class", "provider_names", "register_provider"]
