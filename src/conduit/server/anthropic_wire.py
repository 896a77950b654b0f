"""Anthropic's Messages API wire shapes and Conduit's types, both ways, for the
gateway's `POST /v1/messages`.

In (`to_face`): a Messages body (Anthropic's API reference, "Messages") becomes Conduit
`Message`s and `ChatOptions`: `system` (a string or text blocks) a system message; user
turns with text and image blocks (base64 or URL sources) user messages, their
`tool_result` blocks tool messages; assistant turns with `tool_use` blocks assistant
messages with tool calls (read by the Anthropic adapter's `parse_tool_use`); `tools`,
`tool_choice`, `max_tokens`, `stop_sequences`, `temperature`, `top_p`, `top_k`,
`metadata.user_id`, `stream`. Every field is checked (400 naming it).

Out: a `Response` becomes a `message` object (`message_json`: its content blocks as the
Anthropic adapter writes an assistant turn, `messages_to_wire`; the stop reason as the
adapter's `STOP_REASONS` read backwards; the usage with the cache counts apart, as the
adapter's `usage_fields` read backwards), stream events become Anthropic's events
(`MessagesEncoder`), and errors Anthropic's error shape (`anthropic_error`).

Example:
    >>> face = to_face({"model": "m", "max_tokens": 5, "system": "Be brief.",
    ...                 "messages": [{"role": "user", "content": "Hi"}]})
    >>> [m.role for m in face.messages], face.options.max_tokens
    (['system', 'user'], 5)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pydantic

from conduit.errors import ValidationError
from conduit.providers.anthropic.request import messages_to_wire
from conduit.providers.anthropic.response import STOP_REASONS, parse_tool_use
from conduit.schema import (
    ChatOptions,
    ContentBlock,
    Done,
    ImageBlock,
    Message,
    Response,
    StreamEvent,
    TextBlock,
    TextDelta,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from conduit.server.errors import error_for
from conduit.server.faces import FaceCall, named_event
from conduit.server.fields import bad_request

__all__ = [
    "MESSAGES_FIELDS",
    "MessagesEncoder",
    "anthropic_error",
    "message_json",
    "stop_reason",
    "to_face",
    "usage_wire",
]

MESSAGES_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "metadata",
        "thinking",
        "service_tier",
        "container",
        "mcp_servers",
    }
)
"""The fields a Messages body may have (Anthropic's request schema)."""

_STOP = {ours: theirs for theirs, ours in reversed(STOP_REASONS.items())}
_STOP["content_filter"] = "refusal"
_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def stop_reason(response: Response) -> str:
    """Conduit's stop reason as Anthropic's (`end_turn` when none was given).

    Example:
        >>> stop_reason(Response(stop_reason="max_tokens")), stop_reason(Response())
        ('max_tokens', 'end_turn')
    """
    if response.tool_calls and response.stop_reason in (None, "end_turn"):
        return "tool_use"
    return _STOP.get(response.stop_reason or "end_turn", "end_turn")


def anthropic_error(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """The status and Anthropic-shaped body (`{"type": "error", "error": {...}}`) to
    answer `exc` with: the status the chat route would answer.

    Example:
        >>> anthropic_error(ValidationError("no"))
        (400, {'type': 'error', 'error': {'type': 'invalid_request_error', 'message': 'no'}})
    """
    status, body = error_for(exc)
    kind = _ERROR_TYPES.get(status, "api_error")
    return status, {"type": "error", "error": {"type": kind, "message": body["error"]["message"]}}


# -- in ---------------------------------------------------------------------------------


def _whole(body: Mapping[str, Any], name: str, low: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise bad_request(f"'{name}' must be a whole number >= {low}, not {value!r}", name)
    return value


def _number(body: Mapping[str, Any], name: str, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise bad_request(f"'{name}' must be a number from 0 to {high:g}, not {value!r}", name)
    return float(value)


def _image(block: Mapping[str, Any], where: str) -> ImageBlock:
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64" and isinstance(source, dict):
        data, media = source.get("data"), source.get("media_type")
        if isinstance(data, str) and data and isinstance(media, str) and media:
            return ImageBlock(data=data, media_type=media)
    if kind == "url" and isinstance(source, dict) and isinstance(source.get("url"), str):
        return ImageBlock(url=source["url"])  # fetched by the provider, never the gateway
    raise bad_request(
        f"{where}.source must be {{type: base64, media_type, data}} or {{type: url, url}}",
        f"{where}.source",
    )


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise bad_request(f"{where} must be a string or a list of content blocks", where)
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise bad_request(f"{where}[{j}] must be a content block with a type", where)
    return content


def _text(block: Mapping[str, Any], where: str) -> TextBlock:
    text = block.get("text")
    if not isinstance(text, str):
        raise bad_request(f"{where}.text must be a string", f"{where}.text")
    return TextBlock(text=text)


def _tool_result(block: Mapping[str, Any], where: str) -> Message:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str) or not call_id:
        raise bad_request(f"{where}.tool_use_id is required", f"{where}.tool_use_id")
    parts: list[ContentBlock] = []
    for k, item in enumerate(_blocks(block.get("content") or "", f"{where}.content")):
        if item["type"] == "text":
            parts.append(_text(item, f"{where}.content[{k}]"))
        elif item["type"] == "image":
            parts.append(_image(item, f"{where}.content[{k}]"))
    if block.get("is_error") is True:
        parts.insert(0, TextBlock(text="Error: "))
    content: str | list[ContentBlock] = (
        "".join(p.text for p in parts if isinstance(p, TextBlock))
        if all(isinstance(p, TextBlock) for p in parts)
        else parts
    )
    return Message(role="tool", tool_call_id=call_id, content=content)


def _turn(turn: Any, i: int) -> list[Message]:
    where = f"messages[{i}]"
    if not isinstance(turn, dict):
        raise bad_request(f"{where} must be an object", where)
    role = turn.get("role")
    if role not in ("user", "assistant"):
        raise bad_request(f"{where}.role must be 'user' or 'assistant', not {role!r}", where)
    if "content" not in turn:
        raise bad_request(f"{where}.content is required", f"{where}.content")
    out: list[Message] = []
    parts: list[ContentBlock] = []
    calls: list[ToolCall] = []
    for j, block in enumerate(_blocks(turn["content"], f"{where}.content")):
        at = f"{where}.content[{j}]"
        kind = block["type"]
        if kind == "text":
            parts.append(_text(block, at))
        elif kind == "image" and role == "user":
            parts.append(_image(block, at))
        elif kind == "tool_result" and role == "user":
            out.append(_tool_result(block, at))
        elif kind == "tool_use" and role == "assistant":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise bad_request(f"{at}: a tool_use block needs an id and a name", at)
            calls.append(parse_tool_use(block).model_copy(update={"id": block["id"]}))
        elif kind in ("thinking", "redacted_thinking"):
            continue  # no counterpart in Conduit's messages
        else:
            raise bad_request(f"{at}: a {kind!r} block is not accepted in a {role} turn", at)
    if role == "assistant":
        out.append(Message(role="assistant", content=parts, tool_calls=calls))
    elif parts or not out:
        out.append(Message(role="user", content=parts))
    return out


def _system(value: Any) -> Message | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Message(role="system", content=value) if value else None
    blocks = _blocks(value, "system")
    texts = [_text(b, f"system[{j}]").text for j, b in enumerate(blocks) if b["type"] == "text"]
    text = "\n\n".join(texts)
    return Message(role="system", content=text) if text else None


def _tools(value: Any) -> list[Tool] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise bad_request("'tools' must be a list", "tools")
    out = []
    for j, tool in enumerate(value):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise bad_request(f"tools[{j}] needs a name", f"tools[{j}]")
        if tool.get("type") not in (None, "custom"):
            raise bad_request(
                f"tools[{j}]: server tools ({tool['type']!r}) are not served by this gateway",
                f"tools[{j}]",
            )
        try:
            out.append(
                Tool(
                    name=tool["name"],
                    description=tool.get("description") or "",
                    parameters=tool.get("input_schema") or {"type": "object", "properties": {}},
                    strict=tool.get("strict"),
                )
            )
        except (ValidationError, pydantic.ValidationError) as exc:
            raise bad_request(f"tools[{j}]: {exc}", f"tools[{j}]") from None
    return out


def _tool_choice(value: Any) -> str | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if isinstance(kind, str) and kind in _CHOICES:
        return _CHOICES[kind]
    if kind == "tool" and isinstance(value, dict) and isinstance(value.get("name"), str):
        return str(value["name"])
    raise bad_request(f"'tool_choice' is not valid: {str(value)[:80]}", "tool_choice")


def to_face(body: Mapping[str, Any]) -> FaceCall:
    """A Messages body as a `FaceCall` (400 naming the field when one is wrong)."""
    unknown = sorted(set(body) - MESSAGES_FIELDS)
    if unknown:
        raise bad_request(f"'{unknown[0]}': unknown field", unknown[0])
    turns = body.get("messages")
    if not isinstance(turns, list) or not turns:
        raise bad_request("'messages' is required: a non-empty list", "messages")
    max_tokens = _whole(body, "max_tokens", 1)
    if max_tokens is None:
        raise bad_request("'max_tokens' is required", "max_tokens")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise bad_request(f"'stream' must be true or false, not {stream!r}", "stream")
    stops = body.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
    ):
        raise bad_request("'stop_sequences' must be a list of strings", "stop_sequences")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad_request("'metadata' must be an object", "metadata")
    user = (metadata or {}).get("user_id")
    if user is not None and not isinstance(user, str):
        raise bad_request("'metadata.user_id' must be a string", "metadata.user_id")
    messages: list[Message] = []
    system = _system(body.get("system"))
    if system is not None:
        messages.append(system)
    try:
        for i, turn in enumerate(turns):
            messages.extend(_turn(turn, i))
    except (ValidationError, pydantic.ValidationError) as exc:
        raise bad_request(f"messages: {exc}", "messages") from None
    extra: dict[str, Any] = {}
    top_k = _whole(body, "top_k", 0)
    if top_k is not None:
        extra["top_k"] = top_k
    options = ChatOptions(
        max_tokens=max_tokens,
        temperature=_number(body, "temperature", 1.0),
        top_p=_number(body, "top_p", 1.0),
        stop=stops or None,
        tools=_tools(body.get("tools")),
        tool_choice=_tool_choice(body.get("tool_choice")),
        extra=extra,
    )
    return FaceCall(messages, options, stream=stream, max_tokens=max_tokens, user=user or None)


# -- out --------------------------------------------------------------------------------


def usage_wire(usage: Usage) -> dict[str, Any]:
    """`Usage` as Anthropic's usage object: `input_tokens` without the cache counts,
    which go apart (the adapter's `usage_fields` read backwards).

    Example:
        >>> usage_wire(Usage(input_tokens=130, output_tokens=5, cache_read_tokens=100))
        {'input_tokens': 30, 'output_tokens': 5, 'cache_read_input_tokens': 100, 'cache_creation_input_tokens': 0}
    """  # noqa: E501
    cached = usage.cache_read_tokens + usage.cache_creation_tokens
    return {
        "input_tokens": max(0, usage.input_tokens - cached),
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
    }


def _content(response: Response) -> list[dict[str, Any]]:
    turn = Message(role="assistant", content=response.text, tool_calls=response.tool_calls)
    _, turns = messages_to_wire([turn])
    if not turns:
        return []
    content = turns[0]["content"]
    blocks: list[dict[str, Any]] = (
        [{"type": "text", "text": content}] if isinstance(content, str) else content
    )
    return blocks


def message_json(response: Response, model: str) -> dict[str, Any]:
    """A `Response` as Anthropic's `message` object, named `model`.

    Example:
        >>> out = message_json(Response(id="msg_1", content=[TextBlock(text="Hi")]), "chat")
        >>> out["content"], out["stop_reason"]
        ([{'type': 'text', 'text': 'Hi'}], 'end_turn')
    """
    rid = response.id if response.id.startswith("msg") else f"msg_{uuid.uuid4().hex}"
    return {
        "id": rid,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _content(response),
        "stop_reason": stop_reason(response),
        "stop_sequence": None,
        "usage": usage_wire(response.usage),
    }


class MessagesEncoder:
    """Stream events as Anthropic's server-sent events: `message_start`, then for each
    text or tool call `content_block_start`, its `content_block_delta`s
    (`text_delta`, `input_json_delta`) and `content_block_stop`, then `message_delta`
    (the stop reason and usage) and `message_stop`.

    Example:
        >>> encoder = MessagesEncoder("chat", input_tokens=3)
        >>> encoder.start().startswith(b"event: message_start")
        True
        >>> encoder.encode(TextDelta(text="Hi")).count(b"event: ")  # block start, delta
        2
    """

    def __init__(self, model: str, *, input_tokens: int = 0) -> None:
        self.model = model
        self.input_tokens = input_tokens
        self.response: Response | None = None
        self._index = -1
        self._open: str | None = None  # "text", or the tool call's index as text
        self._tools = False

    def start(self) -> bytes:
        """`message_start`, with an empty message."""
        message: dict[str, Any] = {
            "id": f"msg_{uuid.uuid4().hex}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 0},
        }
        return named_event("message_start", {"type": "message_start", "message": message})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        stop = {"type": "content_block_stop", "index": self._index}
        return named_event("content_block_stop", stop)

    def _begin(self, which: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self._index += 1
        self._open = which
        start = {"type": "content_block_start", "index": self._index, "content_block": block}
        return out + named_event("content_block_start", start)

    def _delta(self, delta: dict[str, Any]) -> bytes:
        data = {"type": "content_block_delta", "index": self._index, "delta": delta}
        return named_event("content_block_delta", data)

    def encode(self, event: StreamEvent) -> bytes:
        """The events for one stream event."""
        if isinstance(event, TextDelta):
            if not event.text:
                return b""
            out = b"" if self._open == "text" else self._begin("text", {"type": "text", "text": ""})
            return out + self._delta({"type": "text_delta", "text": event.text})
        if isinstance(event, ToolCallDelta):
            self._tools = True
            which = f"tool{event.index}"
            out = b""
            if self._open != which:
                block = {
                    "type": "tool_use",
                    "id": event.id or f"toolu_{uuid.uuid4().hex[:24]}",
                    "name": event.name or "",
                    "input": {},
                }
                out = self._begin(which, block)
            if event.arguments:
                out += self._delta({"type": "input_json_delta", "partial_json": event.arguments})
            return out
        if isinstance(event, Done):
            response = self.response = event.response
            reason = stop_reason(response)
            if self._tools and reason == "end_turn":
                reason = "tool_use"
            delta = {
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": None},
                "usage": usage_wire(response.usage),
            }
            return (
                self._close()
                + named_event("message_delta", delta)
                + named_event("message_stop", {"type": "message_stop"})
            )
        return b""

    def error(self, exc: BaseException) -> bytes:
        """An `error` event in Anthropic's error shape."""
        return named_event("error", anthropic_error(exc)[1])
