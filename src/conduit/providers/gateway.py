"""`from_server`: a `ChatModel` that calls a Conduit gateway (or any OpenAI-compatible
server) with a virtual key; `Model.from_server` is built on it.

It is the OpenAI adapter pointed at the gateway's URL, so chat, streaming, tools and
structured output work as with OpenAI itself.

Example:
    >>> model = from_server("chat", url="http://127.0.0.1:4000/v1", api_key="sk-cnd-test")
    >>> model.base_url, model.model_info.name
    ('http://127.0.0.1:4000/v1', 'chat')
"""

from __future__ import annotations

import os

from conduit.core.protocols import ChatModel
from conduit.errors import ValidationError

__all__ = ["from_server"]


def from_server(model: str, *, url: str, api_key: str | None = None) -> ChatModel:
    """A chat model for the gateway's model group `model` at `url` (its `/v1` root;
    a URL without `/v1` gets it added). `api_key` defaults to `$CONDUIT_API_KEY`.

    Example:
        >>> from_server("local", url="http://127.0.0.1:4000").base_url
        'http://127.0.0.1:4000/v1'
    """
    from conduit.providers.openai import OpenAIChatModel

    if not model:
        raise ValidationError("from_server needs the gateway's model group name, e.g. 'chat'")
    base = url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    key = api_key if api_key is not None else os.environ.get("CONDUIT_API_KEY")
    return OpenAIChatModel(model, base_url=base, api_key=key)
