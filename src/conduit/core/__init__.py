"""Protocols (`ChatModel`, `Embedder`), the top-level API and the sync bridge.

Example:
    >>> from conduit.core import chat_sync
    >>> chat_sync("fake/echo", "ping").text
    'ping'
"""

from conduit.core.api import (
    chat,
    chat_sync,
    embed,
    embed_sync,
    embedder,
    model,
    stream,
    stream_sync,
)
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
    "chat",
    "chat_sync",
    "embed",
    "embed_sync",
    "embedder",
    "iterate_sync",
    "make_options",
    "model",
    "run_sync",
    "stream",
    "stream_sync",
]
