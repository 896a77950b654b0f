"""`count_tokens()` and `tokenize()` for any model, given as a string or an object.

OpenAI models count with tiktoken offline and other vendors get an estimate
(`conduit.catalog.tokens`); a local model counts with its own tokenizer, which needs the
model itself, so a string like `"local/default"` is resolved (and the model loaded) here,
through the one resolver.

Example:
    >>> count_tokens("gpt-4o", "hello world")
    2
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from conduit.api.resolve import cached_model, resolve_ref
from conduit.catalog import tokens

if TYPE_CHECKING:
    from conduit.core.protocols import ChatModel
    from conduit.schema import MessagesInput

__all__ = ["count_tokens", "tokenize"]


def _target(model: str | ChatModel) -> str | ChatModel:
    if not isinstance(model, str):
        info = getattr(model, "model_info", None)
        if info is None or info.provider != "local" or callable(getattr(model, "tokenize", None)):
            return model
        return cached_model(info.ref)  # a wrapped local model: its own tokenizer
    ref = resolve_ref(model)
    return cached_model(ref) if ref.startswith("local/") else ref


def count_tokens(
    model: str | ChatModel,
    content: str | MessagesInput,
    *,
    tools: Sequence[object] | None = None,
    tool_choice: object = None,
) -> int:
    """Tokens in `content` (a string or chat messages) for `model`, with the `tools` it
    would be sent (and a forced `tool_choice`): exact for OpenAI and local models, an
    estimate otherwise (see `conduit.catalog.tokens`).

    Example:
        >>> count_tokens("openai/gpt-4o", [{"role": "user", "content": "hello world"}])
        9
    """
    return tokens.count_tokens(_target(model), content, tools=tools, tool_choice=tool_choice)


def tokenize(model: str | ChatModel, text: str) -> list[int]:
    """The token ids of `text` for `model` (OpenAI and local models).

    Example:
        >>> tokenize("openai/gpt-4o", "hello world")
        [24912, 2375]
    """
    return tokens.tokenize(_target(model), text)
