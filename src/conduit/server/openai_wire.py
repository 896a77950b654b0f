"""OpenAI's wire shapes and Conduit's types, both ways, for the gateway.

In: a Chat Completions body (OpenAI's API reference, "Create chat completion") is
checked (`check_chat`: the fields both of the gateway's paths read, so a forwarded body
is never sent with `"stream": "no"` or `max_tokens: -5`) and, for the typed path,
turned into Conduit `Message`s and `ChatOptions` (`to_conduit`). OpenAI's parameters
that `ChatOptions` has no field for (`presence_penalty`, `logit_bias`, `n`, ...) travel
in `ChatOptions.extra`, which providers merge into their request as they are.

Out: a `Response` becomes a `chat.completion` object (`response_json`), stream events
become `chat.completion.chunk` server-sent events (`ChunkEncoder`), and `Embeddings`
an embeddings `list` (`embeddings_json`).

Example:
    >>> body = {"model": "chat", "messages": [{"role": "user", "content": "Hi"}],
    ...         "max_tokens": 5, "stream": True}
    >>> call = check_chat(body)
    >>> call.stream, call.max_tokens, call.input_tokens
    (True, 5, 1)
    >>> messages, options = to_conduit(body)
    >>> messages[0].text, options.max_tokens
    ('Hi', 5)
"""

from __future__ import annotations

import base64
import math
import struct
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pydantic

from conduit import _json
from conduit.errors import ValidationError
from conduit.schema import (
    AudioBlock,
    ChatOptions,
    ContentBlock,
    Done,
    Embeddings,
    FunctionCall,
    ImageBlock,
    Message,
    Response,
    ResponseFormat,
    StreamEvent,
    TextBlock,
    TextDelta,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from conduit.server.fields import CHAT_FIELDS, bad_request
from conduit.server.validation import check_chat_body, check_embeddings_body

__all__ = [
    "ChatCall",
    "ChunkEncoder",
    "EmbeddingCall",
    "FINISH_REASONS",
    "check_chat",
    "check_embeddings",
    "embeddings_json",
    "response_json",
    "to_conduit",
    "usage_json",
    "usage_of",
]

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "content_filter": "content_filter",
}
"""Conduit's `Response.stop_reason` → OpenAI's `finish_reason`."""

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
# Parameters `to_conduit` maps onto ChatOptions fields; the rest of CHAT_FIELDS goes
# to `extra` (`stream_options` stays in the gateway).
_OWN = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "seed",
        "tools",
        "tool_choice",
        "response_format",
        "stream_options",
    }
)


@dataclass(frozen=True, slots=True)
class ChatCall:
    """What the gateway reads from a checked chat body, on either path.

    `input_tokens` is the estimate budgets and limits reserve for the input (characters
    / 4 of the text and tool-call arguments, as `conduit.interceptors.Budget` counts);
    `max_tokens` the longest answer the caller allows (None: not said).
    """

    stream: bool
    include_usage: bool
    max_tokens: int | None
    input_tokens: int
    user: str | None


def _number(body: Mapping[str, Any], name: str, low: float, high: float | None) -> None:
    value = body.get(name)
    if value is None:
        return
    ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    if not ok or value < low or (high is not None and value > high):
        span = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
        raise bad_request(f"'{name}' must be a number {span}, not {value!r}", name)


def _whole(body: Mapping[str, Any], name: str, low: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise bad_request(f"'{name}' must be a whole number >= {low}, not {value!r}", name)
    return value


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(f"'{name}' must be true or false, not {value!r}", name)
    return value


def _text_chars(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(
            len(part.get("text") or "")
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return 0


def check_chat(body: Mapping[str, Any]) -> ChatCall:
    """Check the fields of a chat body both paths read (400 naming the field when one
    is wrong) and return them.

    Example:
        >>> check_chat({"messages": [{"role": "user", "content": "Hi"}], "stream": "no"})
        Traceback (most recent call last):
        ...
        conduit.server.errors.GatewayError: [HTTP 400] 'stream' must be true or false, not 'no'
    """
    check_chat_body(body)  # OpenAI's request schema, every field
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list", "messages")
    chars = 0
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise bad_request(
                f"messages[{i}] must be an object with a role "
                f"({', '.join(sorted(_ROLES))}), not {str(message)[:80]}",
                f"messages[{i}]",
            )
        chars += _text_chars(message.get("content"))
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                arguments = call["function"].get("arguments")
                chars += len(arguments) if isinstance(arguments, str) else 0
    stream = _flag(body, "stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise bad_request(f"'stream_options' must be an object, not {options!r}", "stream_options")
    include_usage = _flag(options or {}, "include_usage")
    limit = _whole(body, "max_completion_tokens", 1)
    limit = _whole(body, "max_tokens", 1) if limit is None else limit
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _number(body, "presence_penalty", -2, 2)
    _number(body, "frequency_penalty", -2, 2)
    _whole(body, "n", 1)
    _whole(body, "top_logprobs", 0)
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise bad_request(f"'seed' must be a whole number, not {seed!r}", "seed")
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise bad_request(f"'user' must be a string, not {user!r}", "user")
    return ChatCall(stream, include_usage, limit, math.ceil(chars / 4), user or None)


# -- in: OpenAI's messages and parameters as Conduit's -------------------------------------


def _reason(exc: Exception) -> str:
    """What a schema refused, without the hint meant for library users."""
    if isinstance(exc, pydantic.ValidationError):
        problems = exc.errors()
        return str(problems[0]["msg"]) if problems else "invalid"
    message = exc.message if isinstance(exc, ValidationError) else str(exc)
    return message.partition(" — ")[0]


def _data_url(url: str, where: str) -> ImageBlock:
    header, _, data = url.partition(",")
    media_type = header.removeprefix("data:").removesuffix(";base64")
    if not header.endswith(";base64") or not media_type or not data:
        raise bad_request(f"{where}: a data: URL image must be data:<type>;base64,<data>", where)
    return ImageBlock(data=data, media_type=media_type)


def _part(part: Any, where: str) -> ContentBlock:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text" and isinstance(part.get("text"), str):
        return TextBlock(text=part["text"])
    if kind == "image_url":
        image = part.get("image_url")
        image = {"url": image} if isinstance(image, str) else image
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str) or not url:
            raise bad_request(f"{where}.image_url needs a url", where)
        detail = image.get("detail")
        block = (
            _data_url(url, where)
            if url.startswith("data:")
            else ImageBlock(url=url)  # fetched by the provider, never by the gateway
        )
        if detail in ("auto", "low", "high"):
            block = block.model_copy(update={"detail": detail})
        return block
    if kind == "input_audio" and isinstance(part.get("input_audio"), dict):
        audio = part["input_audio"]
        return AudioBlock(data=str(audio.get("data") or ""), format=str(audio.get("format") or ""))
    raise bad_request(f"{where}: unsupported content part {str(part)[:80]}", where)


def _content(content: Any, where: str) -> str | list[ContentBlock]:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return [_part(part, f"{where}[{j}]") for j, part in enumerate(content)]
    raise bad_request(f"{where} must be a string or a list of parts", where)


def _tool_calls(calls: Any, where: str) -> list[ToolCall]:
    if calls is None:
        return []
    if not isinstance(calls, list):
        raise bad_request(f"{where} must be a list", where)
    out = []
    for j, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise bad_request(f"{where}[{j}] needs a function with a name", f"{where}[{j}]")
        arguments = function.get("arguments")
        raw = arguments if isinstance(arguments, str) else _json.dumps(arguments or {}).decode()
        out.append(
            ToolCall(
                id=str(call.get("id") or f"call_{j}"),
                function=FunctionCall.from_raw(function["name"], raw),
            )
        )
    return out


def _message(message: dict[str, Any], i: int) -> Message:
    where = f"messages[{i}]"
    role = message["role"]
    content = _content(message.get("content"), f"{where}.content")
    fields: dict[str, Any] = {"role": "system" if role == "developer" else role}
    if role == "tool":
        # A tool result is text; OpenAI allows it as a list of text parts too.
        if isinstance(content, list):
            content = "".join(b.text for b in content if isinstance(b, TextBlock))
        fields["tool_call_id"] = message.get("tool_call_id")
    elif role == "assistant":
        fields["tool_calls"] = _tool_calls(message.get("tool_calls"), f"{where}.tool_calls")
    fields["content"] = content
    if isinstance(message.get("name"), str):
        fields["name"] = message["name"]
    try:
        return Message(**fields)
    except (ValidationError, pydantic.ValidationError) as exc:
        raise bad_request(f"{where}: {_reason(exc)}", where) from None


def _tools(tools: Any) -> list[Tool] | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise bad_request("'tools' must be a list", "tools")
    out = []
    for j, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            raise bad_request(f"tools[{j}] must be {{type: function, function: {{...}}}}", "tools")
        try:
            out.append(
                Tool(
                    name=function.get("name"),
                    description=function.get("description") or "",
                    parameters=function.get("parameters") or {"type": "object", "properties": {}},
                    strict=function.get("strict"),
                )
            )
        except (ValidationError, pydantic.ValidationError) as exc:
            raise bad_request(f"tools[{j}]: {_reason(exc)}", "tools") from None
    return out


def _tool_choice(choice: Any) -> str | None:
    if choice is None or isinstance(choice, str):
        return choice
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
        if isinstance(name, str) and name:
            return name
    raise bad_request(f"'tool_choice' is not valid: {choice!r}", "tool_choice")


def _response_format(value: Any) -> ResponseFormat | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat(type="json_object")
    if kind == "json_schema" and isinstance(value.get("json_schema"), dict):
        spec = value["json_schema"]
        if isinstance(spec.get("schema"), dict):
            return ResponseFormat.from_schema(
                str(spec.get("name") or "response"), spec["schema"], strict=spec.get("strict")
            )
    raise bad_request(f"'response_format' is not valid: {str(value)[:80]}", "response_format")


def to_conduit(
    body: Mapping[str, Any], labels: Mapping[str, Any] | None = None
) -> tuple[list[Message], ChatOptions]:
    """A checked chat body (`check_chat`) as Conduit messages and options; `labels`
    (whom the call is for) go in `extra["labels"]` for budgets and the usage recorder.

    Example:
        >>> messages, options = to_conduit({"messages": [
        ...     {"role": "developer", "content": "Be brief."},
        ...     {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        ...     "stop": "END", "logit_bias": {"1": 2}}, {"key_id": "k1"})
        >>> [m.role for m in messages], options.stop, options.extra
        (['system', 'user'], ['END'], {'logit_bias': {'1': 2}, 'labels': {'key_id': 'k1'}})
    """
    messages = [_message(m, i) for i, m in enumerate(body["messages"])]
    extra = {k: v for k, v in body.items() if k in CHAT_FIELDS and k not in _OWN}
    if labels:
        extra["labels"] = dict(labels)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    try:
        options = ChatOptions(
            temperature=body.get("temperature"),
            top_p=body.get("top_p"),
            max_tokens=limit,
            stop=body.get("stop"),
            seed=body.get("seed"),
            tools=_tools(body.get("tools")),
            tool_choice=_tool_choice(body.get("tool_choice")),
            response_format=_response_format(body.get("response_format")),
            extra=extra,
        )
    except (ValidationError, pydantic.ValidationError) as exc:
        # "ChatOptions.temperature: ..." names the field; OpenAI's name is the same.
        reason = _reason(exc)
        field = reason.partition(":")[0].rpartition(".")[2]
        param = field if field in CHAT_FIELDS else "options"
        raise bad_request(reason, param) from None
    return messages, options


# -- out: Conduit's answers in OpenAI's shapes ------------------------------------------


def usage_json(usage: Usage) -> dict[str, Any]:
    """`Usage` as OpenAI's `usage` object.

    Example:
        >>> usage_json(Usage(input_tokens=3, output_tokens=2))
        {'prompt_tokens': 3, 'completion_tokens': 2, 'total_tokens': 5}
    """
    out: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cache_read_tokens:
        out["prompt_tokens_details"] = {"cached_tokens": usage.cache_read_tokens}
    return out


def usage_of(data: Any) -> Usage | None:
    """OpenAI's `usage` object as `Usage` (None when there is none).

    Example:
        >>> usage_of({"prompt_tokens": 3, "completion_tokens": 2,
        ...           "prompt_tokens_details": {"cached_tokens": 1}}).cache_read_tokens
        1
    """
    if not isinstance(data, dict):
        return None

    def count(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    details = data.get("prompt_tokens_details")
    cached = count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    prompt = count(data.get("prompt_tokens"))
    return Usage(
        input_tokens=prompt,
        output_tokens=count(data.get("completion_tokens")),
        cache_read_tokens=min(cached, prompt),
    )


def _tool_call_json(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.function.name, "arguments": call.function.raw_arguments}
    return {"id": call.id, "type": "function", "function": function}


def response_json(response: Response, model: str, created: int | None = None) -> dict[str, Any]:
    """A `Response` as OpenAI's `chat.completion` object, named `model`.

    Example:
        >>> answer = response_json(Response(id="r1", content=[TextBlock(text="Hi")],
        ...                                 stop_reason="end_turn"), "chat", created=0)
        >>> answer["choices"][0]["message"]["content"], answer["choices"][0]["finish_reason"]
        ('Hi', 'stop')
    """
    text = response.text
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not response.tool_calls else None,
        "refusal": None,
    }
    if response.tool_calls:
        message["tool_calls"] = [_tool_call_json(c) for c in response.tool_calls]
    finish = FINISH_REASONS.get(response.stop_reason or "", "stop")
    if response.tool_calls and finish == "stop":
        finish = "tool_calls"
    return {
        "id": response.id or f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage_json(response.usage),
        "system_fingerprint": None,
    }


class ChunkEncoder:
    """Stream events as OpenAI's `chat.completion.chunk` server-sent events, named
    `model`: a first chunk with the assistant's role, one per text or tool-call delta,
    the last with the finish reason, then the usage chunk when the caller asked for it
    (`include_usage`). `usage` is the last usage the stream reported, `response` the
    complete answer once its `Done` came.

    Example:
        >>> encoder = ChunkEncoder("chat", include_usage=False, created=0)
        >>> encoder.encode(TextDelta(text="Hi")).count(b"data: ")  # the role, then "Hi"
        2
    """

    __slots__ = ("_base", "_tools", "include_usage", "response", "started", "usage")

    def __init__(self, model: str, *, include_usage: bool, created: int | None = None) -> None:
        self._base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()) if created is None else created,
            "model": model,
        }
        self.include_usage = include_usage
        self.started = False
        self.usage: Usage | None = None
        self.response: Response | None = None
        self._tools = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return b"data: " + _json.dumps({**self._base, "choices": [choice]}) + b"\n\n"

    def encode(self, event: StreamEvent) -> bytes:
        """The SSE bytes for one event (empty when it sends nothing)."""
        out = b""
        if not self.started:
            self.started = True
            out = self._chunk({"role": "assistant", "content": ""})
        if isinstance(event, TextDelta):
            return out + self._chunk({"content": event.text}) if event.text else out
        if isinstance(event, ToolCallDelta):
            self._tools = True
            call: dict[str, Any] = {"index": event.index}
            if event.id:
                call.update(id=event.id, type="function")
            function: dict[str, Any] = {"arguments": event.arguments}
            if event.name:
                function["name"] = event.name
            call["function"] = function
            return out + self._chunk({"tool_calls": [call]})
        if isinstance(event, Done):
            response = self.response = event.response
            self.usage = response.usage
            finish = FINISH_REASONS.get(response.stop_reason or "", "stop")
            if (self._tools or response.tool_calls) and finish == "stop":
                finish = "tool_calls"
            out += self._chunk({}, finish)
            if self.include_usage:
                last = {**self._base, "choices": [], "usage": usage_json(response.usage)}
                out += b"data: " + _json.dumps(last) + b"\n\n"
            return out
        usage = getattr(event, "usage", None)
        if isinstance(usage, Usage):
            self.usage = usage
        return out


# -- embeddings -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmbeddingCall:
    """A checked embeddings body: the texts, `encoding_format`, `dimensions`, `user`."""

    texts: list[str]
    encoding: str
    dimensions: int | None
    user: str | None


def check_embeddings(body: Mapping[str, Any]) -> EmbeddingCall:
    """Check an embeddings body (400 naming the field when one is wrong).

    Example:
        >>> check_embeddings({"input": "hi"}).texts
        ['hi']
    """
    check_embeddings_body(body)  # OpenAI's request schema, every field
    if "input" not in body:
        raise bad_request("'input' is required", "input")
    given = body["input"]
    texts = [given] if isinstance(given, str) else given
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise bad_request("'input' must be a string or a non-empty list of strings", "input")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise bad_request(
            f"'encoding_format' must be 'float' or 'base64', not {encoding!r}", "encoding_format"
        )
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise bad_request(f"'user' must be a string, not {user!r}", "user")
    return EmbeddingCall(texts, encoding, _whole(body, "dimensions", 1), user or None)


def _as_base64(vector: Sequence[float]) -> str:
    # OpenAI's `encoding_format: base64` is the little-endian float32 array, base64-encoded.
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def embeddings_json(embeddings: Embeddings, model: str, encoding: str = "float") -> dict[str, Any]:
    """`Embeddings` as OpenAI's embeddings `list`, named `model`.

    Example:
        >>> out = embeddings_json(Embeddings(vectors=[[1.0, 0.0]]), "embed", "base64")
        >>> out["data"][0]["embedding"], out["model"]
        ('AACAPwAAAAA=', 'embed')
    """
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": _as_base64(vector) if encoding == "base64" else list(vector),
        }
        for i, vector in enumerate(embeddings.vectors)
    ]
    usage = embeddings.usage
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": usage.input_tokens, "total_tokens": usage.total_tokens},
    }
