"""`litellm.integrations`: `CustomLogger` (`litellm.integrations.custom_logger`).

Example:
    >>> from conduit.compat.integrations.custom_logger import CustomLogger
    >>> CustomLogger.__name__
    'CustomLogger'
"""

__all__: list[str] = []
