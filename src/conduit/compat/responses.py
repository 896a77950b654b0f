"""OpenAI-shaped answers, as LiteLLM returns them: `ModelResponse`, stream chunks
(`ModelResponseStream`), `EmbeddingResponse`, and `stream_chunk_builder()`.

They are light: dicts with attribute access (`r.choices[0].message.content` and
`r["choices"][0]["message"]["content"]` both work, `json.dumps(r)` too), built once
from Conduit's typed `Response` and stream events.

Example:
    >>> from conduit.schema import Response, TextBlock, Usage
    >>> r = from_response(Response(id="chatcmpl-1", model="m", content=[TextBlock(text="Hi")],
    ...                            stop_reason="end_turn", usage=Usage(input_tokens=3,
    ...                            output_tokens=1)), created=0)
    >>> r.choices[0].message.content, r["usage"]["total_tokens"], r.object
    ('Hi', 4, 'chat.completion')
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from conduit.schema import Response, StopReason, StreamEvent, TextDelta, ToolCall, ToolCallDelta
from conduit.schema import Usage as ConduitUsage

__all__ = [
    "ChatCompletionMessageToolCall",
    "Choices",
    "ChunkMaker",
    "Delta",
    "Embedding",
    "EmbeddingResponse",
    "Function",
    "Message",
    "ModelResponse",
    "ModelResponseStream",
    "StreamingChoices",
    "Usage",
    "finish_reason",
    "from_response",
    "new_id",
    "stream_chunk_builder",
    "usage_from",
]

_FINISH_REASONS: dict[StopReason, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
}


class _Record(dict[str, Any]):
    """A dict whose keys are also attributes; `_private` names are plain attributes."""

    __slots__ = ("_hidden_params",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hidden_params: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),), {"_hidden_params": self._hidden_params})

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._hidden_params = state.get("_hidden_params", {})

    def model_dump(self, **_: Any) -> dict[str, Any]:
        """A deep copy as plain dicts and lists (pydantic's name, as LiteLLM's objects have)."""
        return _plain(self)  # type: ignore[no-any-return]

    def dict(self) -> dict[str, Any]:
        """The same as `model_dump()` (pydantic v1's name)."""
        return self.model_dump()

    def json(self, **_: Any) -> str:
        """This object as JSON text."""
        from conduit import _json

        return _json.dumps(self).decode()

    model_dump_json = json


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class Function(_Record):
    """`{"arguments": "<json>", "name": ...}` of a tool call."""


class ChatCompletionMessageToolCall(_Record):
    """`{"function": Function, "id": ..., "type": "function"}`."""


class Message(_Record):
    """`{"content", "role", "tool_calls", "function_call"}` of a choice."""


class Choices(_Record):
    """`{"finish_reason", "index", "message"}`."""


class Usage(_Record):
    """`{"completion_tokens", "prompt_tokens", "total_tokens", ...details}`."""


class ModelResponse(_Record):
    """A chat completion: `id`, `created`, `model`, `object="chat.completion"`,
    `system_fingerprint`, `choices`, `usage`. `_hidden_params["response_cost"]` holds
    the cost in USD where the catalog knows the model's prices."""


class Delta(_Record):
    """`{"content", "role", "function_call", "tool_calls"}` of a stream chunk."""


class StreamingChoices(_Record):
    """`{"finish_reason", "index", "delta"}`."""


class ModelResponseStream(_Record):
    """A `chat.completion.chunk`."""


class Embedding(_Record):
    """`{"embedding": [...], "index": i, "object": "embedding"}`."""


class EmbeddingResponse(_Record):
    """`{"model", "data": [Embedding...], "object": "list", "usage"}`."""


def new_id() -> str:
    """A fresh `chatcmpl-...` id.

    Example:
        >>> new_id().startswith("chatcmpl-")
        True
    """
    return f"chatcmpl-{uuid.uuid4().hex}"


def finish_reason(reason: StopReason | None) -> str:
    """Conduit's stop reason in OpenAI's words.

    Example:
        >>> finish_reason("tool_use"), finish_reason(None)
        ('tool_calls', 'stop')
    """
    return _FINISH_REASONS.get(reason, "stop") if reason else "stop"


def usage_from(usage: ConduitUsage) -> Usage:
    """Conduit's `Usage` in OpenAI's words.

    Example:
        >>> usage_from(ConduitUsage(input_tokens=2, output_tokens=3)).total_tokens
        5
    """
    prompt_details = {"cached_tokens": usage.cache_read_tokens} if usage.cache_read_tokens else None
    return Usage(
        completion_tokens=usage.output_tokens,
        prompt_tokens=usage.input_tokens,
        total_tokens=usage.total_tokens,
        completion_tokens_details=None,
        prompt_tokens_details=prompt_details,
    )


def _tool_call(call: ToolCall) -> ChatCompletionMessageToolCall:
    return ChatCompletionMessageToolCall(
        function=Function(arguments=call.function.raw_arguments, name=call.name),
        id=call.id,
        type="function",
    )


def from_response(
    response: Response, *, model: str | None = None, created: int | None = None
) -> ModelResponse:
    """A Conduit `Response` as an OpenAI chat completion. The id is the provider's when
    it is already a `chatcmpl-` id, else one made from it.

    Example:
        >>> from conduit.schema import FunctionCall
        >>> call = ToolCall(id="c1", function=FunctionCall.from_raw("f", '{"a": 1}'))
        >>> r = from_response(Response(id="msg_1", tool_calls=[call], stop_reason="tool_use"))
        >>> r.id, r.choices[0].finish_reason, r.choices[0].message.tool_calls[0].function.name
        ('chatcmpl-msg_1', 'tool_calls', 'f')
    """
    rid = response.id
    if not rid.startswith("chatcmpl-"):
        rid = f"chatcmpl-{rid}" if rid else new_id()
    text = response.text
    message = Message(
        content=text if text or not response.tool_calls else None,
        role="assistant",
        tool_calls=[_tool_call(c) for c in response.tool_calls] or None,
        function_call=None,
    )
    return ModelResponse(
        id=rid,
        created=int(time.time()) if created is None else created,
        model=response.model or model or "",
        object="chat.completion",
        choices=[
            Choices(finish_reason=finish_reason(response.stop_reason), index=0, message=message)
        ],
        usage=usage_from(response.usage),
    )


class ChunkMaker:
    """Turns Conduit stream events into `chat.completion.chunk` objects, one per text or
    tool-call delta, then one with the finish reason. The usage rides on the last chunk
    as `usage` only when `include_usage=True` (OpenAI's `stream_options`); it is always
    kept in `_hidden_params["usage"]` for `stream_chunk_builder()`.

    Example:
        >>> from conduit.schema import Done, TextDelta
        >>> maker = ChunkMaker("m", created=0)
        >>> chunks = [c for e in [TextDelta(text="Hi"), Done(response=Response())]
        ...           for c in maker.feed(e)]
        >>> [c.choices[0].delta.content for c in chunks], chunks[-1].choices[0].finish_reason
        (['Hi', None], 'stop')
    """

    __slots__ = ("_first", "created", "id", "include_usage", "model", "response")

    def __init__(
        self, model: str, *, created: int | None = None, include_usage: bool = False
    ) -> None:
        self.model = model
        self.id = new_id()
        self.created = int(time.time()) if created is None else created
        self.include_usage = include_usage
        self._first = True
        self.response: Response | None = None

    def _chunk(self, delta: Delta, finish: str | None = None) -> ModelResponseStream:
        return ModelResponseStream(
            id=self.id,
            created=self.created,
            model=self.model,
            object="chat.completion.chunk",
            choices=[StreamingChoices(finish_reason=finish, index=0, delta=delta)],
        )

    def _role(self) -> str | None:
        if self._first:
            self._first = False
            return "assistant"
        return None

    def feed(self, event: StreamEvent) -> list[ModelResponseStream]:
        """The chunks for one event (none for usage events)."""
        if isinstance(event, TextDelta):
            delta = Delta(
                content=event.text, role=self._role(), function_call=None, tool_calls=None
            )
            return [self._chunk(delta)]
        if isinstance(event, ToolCallDelta):
            call = ChatCompletionMessageToolCall(
                id=event.id,
                function=Function(arguments=event.arguments, name=event.name),
                type="function",
                index=event.index,
            )
            delta = Delta(content=None, role=self._role(), function_call=None, tool_calls=[call])
            return [self._chunk(delta)]
        if event.type != "done":
            return []
        response = self.response = event.response
        if response.model:
            self.model = response.model
        delta = Delta(content=None, role=self._role(), function_call=None, tool_calls=None)
        last = self._chunk(delta, finish_reason(response.stop_reason))
        last._hidden_params["usage"] = usage_from(response.usage)
        if self.include_usage:
            last["usage"] = usage_from(response.usage)
        return [last]


def stream_chunk_builder(
    chunks: Sequence[ModelResponseStream] | Iterable[ModelResponseStream],
    messages: Any = None,
) -> ModelResponse | None:
    """Rebuild a whole `ModelResponse` from stream chunks (LiteLLM's function of that name).

    Example:
        >>> from conduit.schema import Done, TextDelta
        >>> maker = ChunkMaker("m", created=0)
        >>> events = [TextDelta(text="Hel"), TextDelta(text="lo"), Done(response=Response())]
        >>> built = stream_chunk_builder([c for e in events for c in maker.feed(e)])
        >>> built.choices[0].message.content, built.object
        ('Hello', 'chat.completion')
    """
    chunks = list(chunks)
    if not chunks:
        return None
    first = chunks[0]
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish = "stop"
    usage: Usage | None = None
    for chunk in chunks:
        usage = chunk.get("usage") or chunk._hidden_params.get("usage") or usage
        for choice in chunk["choices"]:
            delta = choice["delta"]
            if delta.get("content"):
                text.append(delta["content"])
            for part in delta.get("tool_calls") or ():
                slot = calls.setdefault(
                    part.get("index", 0), {"id": None, "name": None, "args": []}
                )
                slot["id"] = slot["id"] or part.get("id")
                function = part.get("function") or {}
                slot["name"] = slot["name"] or function.get("name")
                slot["args"].append(function.get("arguments") or "")
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
    tool_calls = [
        ChatCompletionMessageToolCall(
            function=Function(arguments="".join(slot["args"]), name=slot["name"]),
            id=slot["id"],
            type="function",
        )
        for _, slot in sorted(calls.items())
    ]
    content = "".join(text)
    message = Message(
        content=content if content or not tool_calls else None,
        role="assistant",
        tool_calls=tool_calls or None,
        function_call=None,
    )
    return ModelResponse(
        id=first["id"],
        created=first["created"],
        model=chunks[-1]["model"],
        object="chat.completion",
        system_fingerprint=first.get("system_fingerprint"),
        choices=[Choices(finish_reason=finish, index=0, message=message)],
        usage=usage
        or Usage(
            completion_tokens=0,
            prompt_tokens=0,
            total_tokens=0,
            completion_tokens_details=None,
            prompt_tokens_details=None,
        ),
    )
