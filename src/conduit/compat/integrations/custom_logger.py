"""`litellm.integrations.custom_logger`: `CustomLogger` at LiteLLM's module path.

Example:
    >>> from conduit.compat.integrations.custom_logger import CustomLogger
    >>> hasattr(CustomLogger, "async_log_success_event")
    True
"""

from conduit.compat.custom_logger import CustomLogger

__all__ = ["CustomLogger"]
