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
    "ChatCompletionDeltaToolCall",
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
    "TextChoices",
    "TextCompletionResponse",
    "Usage",
    "finish_reason",
    "from_chat",
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
    "repetition": "stop",
}


class _Record(dict[str, Any]):
    """A dict whose keys are also attributes; `_private` names are plain attributes.
    Keys a LiteLLM object always has get LiteLLM's defaults (`_defaults`)."""

    __slots__ = ("_hidden_params",)
    _keys: frozenset[str] | None = None  # the keys `_defaults` fills (found on first use)
    _needed: frozenset[str] = frozenset()  # those of them a None does not stand for

    def _defaults(self) -> dict[str, Any]:
        return {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keys = type(self)._keys
        if keys is None:
            keys = frozenset(self._defaults())
            type(self)._keys, type(self)._needed = keys, keys & _NOT_NONE
        if keys and (not keys <= self.keys() or any(self[k] is None for k in self._needed)):
            for key, value in self._defaults().items():
                if self.get(key) is None and (key not in self or key in _NOT_NONE):
                    self[key] = value
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
        return (_restore, (type(self), dict(self)), {"_hidden_params": self._hidden_params})

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


def _restore(cls: type[_Record], items: dict[str, Any]) -> _Record:
    """Unpickle a record as it was (no defaults added)."""
    out = dict.__new__(cls)
    dict.update(out, items)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# Keys whose None is replaced by the default (LiteLLM counts a None as 0, ...).
_NOT_NONE = frozenset(
    {"prompt_tokens", "completion_tokens", "total_tokens", "role", "object", "id", "created"}
)


class Function(_Record):
    """`{"arguments": "<json>", "name": ...}` of a tool call."""

    def _defaults(self) -> dict[str, Any]:
        return {"arguments": "", "name": None}


class ChatCompletionMessageToolCall(_Record):
    """`{"function": Function, "id": ..., "type": "function"}`."""

    def _defaults(self) -> dict[str, Any]:
        return {"function": Function(), "id": f"call_{uuid.uuid4().hex[:24]}", "type": "function"}


class ChatCompletionDeltaToolCall(_Record):
    """A tool call in a stream chunk's delta: `{"id", "function", "type", "index"}`
    (the id only on its first chunk)."""


class Message(_Record):
    """`{"content", "role", "tool_calls", "function_call"}` of a choice (role
    `"assistant"` unless given).

    Example:
        >>> Message(content="hi").role
        'assistant'
    """

    def _defaults(self) -> dict[str, Any]:
        return {"content": None, "role": "assistant", "tool_calls": None, "function_call": None}


class Choices(_Record):
    """`{"finish_reason", "index", "message"}`."""

    def _defaults(self) -> dict[str, Any]:
        return {"finish_reason": "stop", "index": 0, "message": Message()}


class Usage(_Record):
    """`{"completion_tokens", "prompt_tokens", "total_tokens", ...details}`; a count
    not given (or None) is 0, and the total is their sum unless given.

    Example:
        >>> Usage(completion_tokens=None, prompt_tokens=3).total_tokens
        3
    """

    def _defaults(self) -> dict[str, Any]:
        prompt = self.get("prompt_tokens") or 0
        answer = self.get("completion_tokens") or 0
        return {
            "completion_tokens": 0,
            "prompt_tokens": 0,
            "total_tokens": prompt + answer,
            "completion_tokens_details": None,
            "prompt_tokens_details": None,
        }


class ModelResponse(_Record):
    """A chat completion: `id`, `created`, `model`, `object="chat.completion"`,
    `system_fingerprint`, `choices`, `usage`. `_hidden_params["response_cost"]` holds
    the cost in USD where the catalog knows the model's prices. Made empty, it has
    LiteLLM's defaults (a fresh id, one empty choice, zero usage).

    Example:
        >>> ModelResponse().object, ModelResponse().choices[0].message.role
        ('chat.completion', 'assistant')
    """

    def _defaults(self) -> dict[str, Any]:
        return {
            "id": new_id(),
            "created": int(time.time()),
            "model": None,
            "object": "chat.completion",
            "choices": [Choices()],
            "usage": Usage(),
        }

    def __getattr__(self, name: str) -> Any:
        # LiteLLM reads `system_fingerprint` as None when the provider sent none, and
        # leaves it out of the dump.
        if name == "system_fingerprint":
            return self.get(name)
        return super().__getattr__(name)


class Delta(_Record):
    """`{"content", "role", "function_call", "tool_calls"}` of a stream chunk."""

    def _defaults(self) -> dict[str, Any]:
        return {"content": None, "role": None, "function_call": None, "tool_calls": None}


class StreamingChoices(_Record):
    """`{"finish_reason", "index", "delta"}`."""

    def _defaults(self) -> dict[str, Any]:
        return {"finish_reason": None, "index": 0, "delta": Delta()}


class ModelResponseStream(_Record):
    """A `chat.completion.chunk`."""

    def _defaults(self) -> dict[str, Any]:
        return {
            "id": new_id(),
            "created": int(time.time()),
            "model": None,
            "object": "chat.completion.chunk",
            "choices": [StreamingChoices()],
        }


class Embedding(_Record):
    """`{"embedding": [...], "index": i, "object": "embedding"}`."""


class EmbeddingResponse(_Record):
    """`{"model", "data": [Embedding...], "object": "list", "usage"}`."""

    def _defaults(self) -> dict[str, Any]:
        return {"model": None, "data": [], "object": "list", "usage": Usage()}


class TextChoices(_Record):
    """`{"finish_reason", "index", "logprobs", "text"}` of a text completion."""

    def _defaults(self) -> dict[str, Any]:
        return {"finish_reason": "stop", "index": 0, "logprobs": None, "text": ""}


class TextCompletionResponse(_Record):
    """A `text_completion` answer: `choices[i].text`.

    Example:
        >>> TextCompletionResponse().object
        'text_completion'
    """

    def _defaults(self) -> dict[str, Any]:
        return {
            "id": new_id(),
            "created": int(time.time()),
            "model": None,
            "object": "text_completion",
            "choices": [TextChoices()],
            "usage": Usage(),
        }


def from_chat(answer: ModelResponse) -> TextCompletionResponse:
    """A chat completion as a text completion (LiteLLM's `text_completion()` answer).

    Example:
        >>> from_chat(ModelResponse(choices=[Choices(message=Message(content="x"))])
        ...           ).choices[0].text
        'x'
    """
    out = TextCompletionResponse(
        id=answer.get("id"),
        created=answer.get("created"),
        model=answer.get("model"),
        choices=[
            TextChoices(
                finish_reason=c["finish_reason"],
                index=c["index"],
                text=c["message"].get("content") or "",
            )
            for c in answer["choices"]
        ],
        usage=answer.get("usage"),
    )
    out._hidden_params = dict(answer._hidden_params)
    return out


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
            call = ChatCompletionDeltaToolCall(
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


def _rebuilt_usage(
    model: str, messages: Any, content: str, calls: dict[int, dict[str, Any]]
) -> Usage:
    """LiteLLM's usage for chunks that carry none: the prompt counted from `messages`
    (role overhead included), the answer from the text and tool arguments streamed."""
    from conduit.compat.catalog import token_counter

    answer = content + "".join("".join(slot["args"]) for slot in calls.values())
    prompt = token_counter(model=model, messages=messages)
    completion = token_counter(model=model, text=answer, count_response_tokens=True)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
    )


def stream_chunk_builder(
    chunks: Sequence[ModelResponseStream] | Iterable[ModelResponseStream],
    messages: Any = None,
) -> ModelResponse | None:
    """Rebuild a whole `ModelResponse` from stream chunks (LiteLLM's function of that name).
    Its usage is a chunk's own `usage` (`stream_options={"include_usage": True}`); else,
    given `messages`, counted as LiteLLM counts it (the prompt from the messages, the
    answer from the streamed text); else what the stream reported.

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
    hidden: Usage | None = None
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        hidden = chunk._hidden_params.get("usage") or hidden
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
    if usage is None and messages:
        usage = _rebuilt_usage(chunks[-1]["model"], messages, content, calls)
    usage = usage or hidden
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
