"""The OpenAI-compatible gateway (`conduit serve`): one server in front of every model,
with virtual keys, budgets, rate limits, a usage ledger and Prometheus metrics.

Heavy parts (aiohttp's web server) load on first use of `Gateway`.

Example:
    >>> from conduit.server import from_server
    >>> from_server("chat", url="http://127.0.0.1:4000/v1", api_key="sk-cnd-x").model_info.name
    'chat'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conduit.providers.gateway import from_server
    from conduit.server.app import Gateway
    from conduit.server.config import GatewayConfig, default_config, load_config
    from conduit.server.keys import KeyGuard

__all__ = [
    "Gateway",
    "GatewayConfig",
    "KeyGuard",
    "default_config",
    "from_server",
    "load_config",
]

_WHERE = {
    "Gateway": "conduit.server.app",
    "GatewayConfig": "conduit.server.config",
    "KeyGuard": "conduit.server.keys",
    "default_config": "conduit.server.config",
    "from_server": "conduit.providers.gateway",
    "load_config": "conduit.server.config",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'conduit.server' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
