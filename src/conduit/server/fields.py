"""Which request fields a caller may send on through the gateway, and the 400 for the rest.

Only OpenAI's own Chat Completions and Embeddings parameters pass: connection settings
(`api_base`, `api_key`, `headers`, `mock_response`…) are the gateway's, from its config,
and a caller must never set those, or it could send the gateway's provider key to a
server of its choosing.

Example:
    >>> sorted(EMBED_FIELDS)
    ['dimensions']
"""

from __future__ import annotations

from typing import Any

from conduit.server.errors import GatewayError

__all__ = ["CHAT_FIELDS", "EMBED_FIELDS", "LOCAL_FIELDS", "bad_request", "passed_on"]

# Request fields that stay in the gateway: `user` is recorded, not sent upstream.
LOCAL_FIELDS = frozenset({"model", "messages", "input", "stream", "user", "metadata", "store"})
# What a caller may pass on (OpenAI's Chat Completions and Embeddings parameters). Only
# these: never a connection setting (see the module's text).
CHAT_FIELDS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "seed",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "stream_options",
        "n",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "reasoning_effort",
        "modalities",
        "audio",
        "prediction",
        "service_tier",
        "verbosity",
        "web_search_options",
    }
)
EMBED_FIELDS = frozenset({"dimensions"})


def bad_request(message: str, param: str | None = None) -> GatewayError:
    """A 400 `invalid_request_error` about `param`."""
    return GatewayError(message, status=400, type="invalid_request_error", param=param)


def passed_on(body: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """The body's parameters for the upstream call; an unknown one is a 400 (as OpenAI
    answers "Unrecognized request argument").

    Example:
        >>> passed_on({"model": "m", "temperature": 0}, CHAT_FIELDS)
        {'temperature': 0}
    """
    out = {}
    for name, value in body.items():
        if name in LOCAL_FIELDS:
            continue
        if name not in allowed:
            raise bad_request(f"Unrecognized request argument supplied: {name}", name)
        out[name] = value
    return out
