"""Reading and rewriting an OpenAI-wire answer as bytes, without a JSON round trip.

A forwarded answer goes back to its caller as the upstream sent it, with one change:
its `model` is the model group's name. What the gateway must read of it, the usage
(for the ledger and the budget) and, for a stream, how much text it delivered (for a
stream that breaks before its usage), is found by scanning the bytes; only the usage
object itself (at most one small object per answer) is parsed. A JSON key can only be
matched where the JSON has one: a quote inside a string is always escaped (`\\"`),
so text that merely mentions `"model":` is never taken for the key.

Example:
    >>> answer = b'{"id":"c1","model":"gpt-4o-mini-2024-07-18","choices":[],' \\
    ...          b'"usage":{"prompt_tokens":3,"completion_tokens":2}}'
    >>> renamed(answer, "chat")
    b'{"id":"c1","model":"chat","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}'
    >>> usage_in(answer)
    {'prompt_tokens': 3, 'completion_tokens': 2}
"""

from __future__ import annotations

import functools
import re
from typing import Any

from conduit import _json

__all__ = ["delivered_chars", "renamed", "take_usage", "usage_in"]

_STRING = rb'"(?:[^"\\]|\\.)*"'
_MODEL = re.compile(rb'"model"\s*:\s*' + _STRING)
_USAGE_KEY = re.compile(rb'"usage"\s*:\s*\{')
# The usage object: strings, flat members and objects one level deep (the details).
_FLAT = rb"(?:[^{}\"]|" + _STRING + rb")*"
_USAGE = re.compile(rb'"usage"\s*:\s*(\{' + _FLAT + rb"(?:\{" + _FLAT + rb"\}" + _FLAT + rb")*\})")
_TEXT = re.compile(rb'"(?:content|arguments)"\s*:\s*"((?:[^"\\]|\\.)*)"')


@functools.lru_cache(maxsize=1024)
def _model_field(model: str) -> bytes:
    # As a replacement template: its backslashes (from JSON escapes) doubled.
    return (b'"model":' + _json.dumps(model)).replace(b"\\", b"\\\\")


def renamed(raw: bytes, model: str) -> bytes:
    """`raw` (JSON, or SSE events) with each `"model": "…"` member naming `model`.

    Example:
        >>> renamed(b'data: {"model": "m-1", "choices": [{"delta": {"content": "\\\\"model\\\\":"}}]}\\n\\n', "g")
        b'data: {"model":"g", "choices": [{"delta": {"content": "\\\\"model\\\\":"}}]}\\n\\n'
    """  # noqa: E501
    return _MODEL.sub(_model_field(model), raw)


def usage_in(raw: bytes) -> dict[str, Any] | None:
    """The `usage` object of an answer (its last one), parsed; None when there is none.

    Example:
        >>> usage_in(b'{"usage": {"prompt_tokens": 1, "prompt_tokens_details": {"cached_tokens": 0}}}')
        {'prompt_tokens': 1, 'prompt_tokens_details': {'cached_tokens': 0}}
        >>> usage_in(b'{"usage": null}') is None
        True
    """  # noqa: E501
    at = raw.rfind(b'"usage"')  # never inside a string, where quotes are escaped
    if at < 0:
        return None
    found = _USAGE.match(raw, at)
    if found is None:
        if _USAGE_KEY.match(raw, at) is None:
            return None  # "usage": null
        parsed = _json.loads(raw)  # nested deeper than usage objects are: parse it all
        usage = parsed.get("usage") if isinstance(parsed, dict) else None
        return usage if isinstance(usage, dict) else None
    usage = _json.loads(found.group(1))
    return usage if isinstance(usage, dict) else None


def delivered_chars(frames: bytes) -> int:
    """The characters of content and tool-call arguments in SSE `frames` (as escaped
    in JSON: an estimate, used only to price a stream that broke before its usage).

    Example:
        >>> delivered_chars(b'data: {"choices":[{"delta":{"content":"Hello"}}]}\\n\\n')
        5
    """
    if b'"content"' not in frames and b'"arguments"' not in frames:
        return 0
    return sum(map(len, _TEXT.findall(frames)))


def take_usage(frames: bytes, keep: bool) -> tuple[bytes, dict[str, Any] | None]:
    """The usage object among SSE `frames` (whole events), and the frames to send on:
    as they are when `keep`, else without the events that carry only usage (no
    `choices`: the chunk the gateway asked for its own books).

    Example:
        >>> frames = b'data: {"choices":[{"delta":{}}]}\\n\\ndata: {"choices":[],"usage":{"prompt_tokens":2}}\\n\\n'
        >>> take_usage(frames, keep=False)
        (b'data: {"choices":[{"delta":{}}]}\\n\\n', {'prompt_tokens': 2})
    """  # noqa: E501
    if b'"usage"' not in frames or _USAGE_KEY.search(frames) is None:
        return frames, None
    usage: dict[str, Any] | None = None
    kept: list[bytes] = []
    for event in frames.split(b"\n\n")[:-1]:
        if _USAGE_KEY.search(event) is None:
            kept.append(event)
            continue
        data = b"\n".join(
            line[5:].removeprefix(b" ") for line in event.split(b"\n") if line.startswith(b"data:")
        )
        try:
            chunk = _json.loads(data)
        except _json.JSONDecodeError:
            chunk = None
        if isinstance(chunk, dict) and isinstance(chunk.get("usage"), dict):
            usage = chunk["usage"]
            if not keep and not chunk.get("choices"):
                continue
        kept.append(event)
    if not kept:
        return b"", usage
    return b"\n\n".join(kept) + b"\n\n", usage
