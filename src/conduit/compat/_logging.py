"""`litellm._logging`: LiteLLM's loggers, which users' code and tests import to turn
debug output up or down (`verbose_logger.setLevel(logging.DEBUG)`). Here they are the
standard `logging` loggers of the LiteLLM face (`conduit.compat`), where it logs.

Example:
    >>> import logging
    >>> verbose_logger.name, verbose_router_logger.parent is verbose_logger
    ('conduit.compat', True)
"""

from __future__ import annotations

import logging

__all__ = ["verbose_logger", "verbose_proxy_logger", "verbose_router_logger"]

verbose_logger = logging.getLogger("conduit.compat")
"""LiteLLM's `verbose_logger`: the face's logger."""

verbose_router_logger = logging.getLogger("conduit.compat.router")
"""LiteLLM's `verbose_router_logger`: the compat Router's logger."""

verbose_proxy_logger = logging.getLogger("conduit.compat.proxy")
"""LiteLLM's `verbose_proxy_logger` (Conduit's gateway logs under `conduit.server`)."""
