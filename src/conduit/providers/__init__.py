"""Providers: one adapter per wire API, one registry entry per vendor.

Example:
    >>> from conduit.providers import provider_names
    >>> "openai" in provider_names()
    True
"""

from conduit.providers.registry import (
    PluginStatus,
    ProviderSpec,
    get_provider,
    load_class,
    plugin_status,
    provider_names,
    register_provider,
)

__all__ = [
    "PluginStatus",
    "ProviderSpec",
    "get_provider",
    "load_class",
    "plugin_status",
    "provider_names",
    "register_provider",
]
