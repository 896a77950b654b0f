"""The spine's front door: the one resolver (`model()`, `embedder()`, a model string's
cache) and the top-level calls (`chat()`, `stream()`, `embed()` and their sync twins).

Example:
    >>> from conduit.api import chat_sync
    >>> chat_sync("fake/echo", "ping").text
    'ping'
"""

from conduit.api.calls import chat, chat_sync, embed, embed_sync, stream, stream_sync
from conduit.api.resolve import (
    Kind,
    build_model,
    cached_embedder,
    cached_model,
    embedder,
    model,
    model_info,
    resolve_ref,
    validate_model,
)
from conduit.api.tokens import count_tokens, tokenize

__all__ = [
    "Kind",
    "build_model",
    "cached_embedder",
    "cached_model",
    "chat",
    "chat_sync",
    "count_tokens",
    "embed",
    "embed_sync",
    "embedder",
    "model",
    "model_info",
    "resolve_ref",
    "stream",
    "stream_sync",
    "tokenize",
    "validate_model",
]
