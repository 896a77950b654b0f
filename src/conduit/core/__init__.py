"""Protocols (`ChatModel`, `Embedder`), the sync bridge, and the shared policies
(`RetryPolicy`, `Timeout`) and input checks.

The top-level calls (`conduit.chat`, `conduit.model`, ...) live one layer up, in
`conduit.api`, because turning a string into a model needs the catalog and the providers.

Example:
    >>> from conduit.core import ModelInfo
    >>> ModelInfo("openai", "gpt-4o-mini").ref
    'openai/gpt-4o-mini'
"""

from conduit.core.policy import RetryPolicy, Timeout
from conduit.core.protocols import (
    BaseChatModel,
    BaseEmbedder,
    Capabilities,
    ChatModel,
    Embedder,
    ModelInfo,
    make_options,
)
from conduit.core.sync import iterate_sync, run_sync

__all__ = [
    "BaseChatModel",
    "BaseEmbedder",
    "Capabilities",
    "ChatModel",
    "Embedder",
    "ModelInfo",
    "RetryPolicy",
    "Timeout",
    "iterate_sync",
    "make_options",
    "run_sync",
]
