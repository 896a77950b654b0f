"""`completion()` / `acompletion()` with LiteLLM's signature, over Conduit's models.

The whole call is one async function; `completion()` runs it through Conduit's sync
bridge (no second implementation). Per call, at the edge: the settings are read once
(`config.snapshot()`), the model string is resolved once (`"provider/model"`; a bare
name is looked up in the catalog, never guessed from its spelling), and the model
object is reused from a small cache keyed by its connection settings, so its
connection pool is too.

Example:
    >>> import conduit.compat as litellm
    >>> r = litellm.completion(model="fake/echo", messages=[{"role": "user", "content": "Hi"}])
    >>> r.choices[0].message.content, r.object, r.id.startswith("chatcmpl-")
    ('Hi', 'chat.completion', True)
    >>> "".join(c.choices[0].delta.content or "" for c in
    ...         litellm.completion(model="fake/echo", messages="Hi there", stream=True))
    'Hi there'
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from conduit.catalog import find_model, parse_model_ref
from conduit.catalog.registry import cost_of
from conduit.compat import config
from conduit.compat.custom_logger import notify_failure, notify_pre_call, notify_success
from conduit.compat.exceptions import BudgetExceededError, translate
from conduit.compat.responses import (
    ChunkMaker,
    ModelResponse,
    ModelResponseStream,
    from_response,
)
from conduit.core.protocols import ChatModel
from conduit.core.sync import run_sync
from conduit.errors import ConduitError, ValidationError
from conduit.providers.registry import ProviderSpec, get_provider
from conduit.schema import (
    ChatOptions,
    FunctionCall,
    Message,
    Response,
    ResponseFormat,
    StreamEvent,
    Tool,
    ToolCall,
)
from conduit.transport import Timeout

__all__ = [
    "CustomStreamWrapper",
    "acompletion",
    "chat_model_for",
    "completion",
    "connection_config",
    "resolve_model",
    "to_messages",
    "to_options",
]

_OPENAI_ADAPTER = "conduit.providers.openai:OpenAIChatModel"
# LiteLLM's own bookkeeping arguments: accepted so calls written for LiteLLM run, not sent.
_IGNORED = frozenset(
    {
        "litellm_call_id",
        "litellm_logging_obj",
        "litellm_trace_id",
        "caching",
        "cache",
        "api_version",
        "client",
        "proxy_server_request",
        "model_info",
        "input_cost_per_token",
        "output_cost_per_token",
        "rpm",
        "tpm",
        "order",
        "weight",
        "max_parallel_requests",
        "stream_options",
        "no-log",
        "model_list",
        "deployment_id",
        "mock_timeout",
    }
)
_CACHE_SIZE = 64
_models: OrderedDict[tuple[Any, ...], ChatModel] = OrderedDict()


# --------------------------------------------------------------------------- inputs


def resolve_model(model: str, custom_llm_provider: str | None = None) -> str:
    """`"provider/model"` for what a LiteLLM user passes: `"openai/gpt-4o"` as is;
    `custom_llm_provider="openai"` with `"gpt-4o"`; a bare `"gpt-4o"` when the catalog
    lists that exact name (or alias) under one provider.

    Example:
        >>> resolve_model("gpt-4o-mini"), resolve_model("my-model", "openai")
        ('openai/gpt-4o-mini', 'openai/my-model')
    """
    if not isinstance(model, str) or not model.strip():
        raise ValidationError(f"model must be a 'provider/model' string, not {model!r}")
    if custom_llm_provider:
        prefix = f"{custom_llm_provider}/"
        return model if model.startswith(prefix) else prefix + model
    provider, slash, _ = model.partition("/")
    if slash and provider:
        return model
    entry = find_model(f"openai/{model}") or _find_anywhere(model)
    if entry is None:
        raise ValidationError(
            f"model {model!r} needs a provider prefix, like 'openai/{model}' or "
            f"'anthropic/{model}' (Conduit never guesses the provider from a model's name)"
        )
    return entry.ref


def _find_anywhere(name: str) -> Any:
    from conduit.catalog import models

    found = [e for e in models() if name in (e.name, *e.aliases)]
    return found[0] if len({e.provider for e in found}) == 1 else None


def _timeout(value: Any) -> Timeout | None:
    if value is None or isinstance(value, Timeout):
        return value
    seconds = float(value)
    return Timeout(connect=min(seconds, 10.0), read=seconds, total=seconds)


def connection_config(
    spec: ProviderSpec,
    settings: config.Settings,
    *,
    api_key: str | None,
    api_base: str | None,
    timeout: Any,
    num_retries: int | None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The model's connection keywords by the precedence call > settings > environment
    (None is left out, so the provider reads its environment variables).

    Example:
        >>> from conduit.providers.registry import get_provider
        >>> connection_config(get_provider("openai"), config.Settings(api_key="sk-m"),
        ...                   api_key=None, api_base=None, timeout=None, num_retries=0)
        {'api_key': 'sk-m', 'max_retries': 0}
    """
    if spec.key_env is None and spec.base_url is None:
        return {}  # in-process providers (fake, local) take no connection settings
    out: dict[str, Any] = {}
    key = settings.key_for(spec.name, api_key)
    if key:
        out["api_key"] = key
    base = api_base or settings.api_base
    if base:
        out["base_url"] = base
    seconds = timeout if timeout is not None else settings.request_timeout
    if seconds is not None:
        out["timeout"] = _timeout(seconds)
    retries = num_retries if num_retries is not None else settings.num_retries
    if retries is not None:
        out["max_retries"] = int(retries)
    if headers:
        out["headers"] = dict(headers)
    return out


def _chat_model(ref: str, conn: dict[str, Any]) -> ChatModel:
    key = (
        ref,
        *sorted(
            (k, v if not isinstance(v, dict) else tuple(sorted(v.items()))) for k, v in conn.items()
        ),
    )
    found = _models.get(key)
    if found is not None:
        _models.move_to_end(key)
        return found
    from conduit.core.api import model as build

    built = build(ref, **conn)
    _models[key] = built
    if len(_models) > _CACHE_SIZE:
        _models.popitem(last=False)
    return built


def chat_model_for(model: str, params: Mapping[str, Any]) -> ChatModel:
    """The (cached) `ChatModel` that `completion(model, ..., **params)` would call, built
    from the connection settings among `params` (`api_key`, `api_base`, `timeout`,
    `num_retries`, `headers`) by the usual precedence.

    Example:
        >>> chat_model_for("fake/echo", {}).model_info.ref
        'fake/echo'
    """
    ref = resolve_model(model, params.get("custom_llm_provider"))
    spec = get_provider(parse_model_ref(ref).provider)
    conn = connection_config(
        spec,
        config.snapshot(),
        api_key=params.get("api_key"),
        api_base=params.get("api_base") or params.get("base_url"),
        timeout=params.get("timeout"),
        num_retries=params.get("num_retries"),
        headers=params.get("extra_headers") or params.get("headers"),
    )
    return _chat_model(ref, conn)


def _tool_call(wire: Mapping[str, Any]) -> ToolCall:
    function = wire.get("function") or {}
    args = function.get("arguments")
    call = (
        FunctionCall.from_arguments(function.get("name") or "", args)
        if isinstance(args, dict)
        else FunctionCall.from_raw(function.get("name") or "", args)
    )
    return ToolCall(id=wire.get("id") or "", function=call)


def _part(part: Any) -> Any:
    if isinstance(part, Mapping) and part.get("type") == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        block: dict[str, Any] = {"type": "image", "url": url}
        if isinstance(image, Mapping) and image.get("detail"):
            block["detail"] = image["detail"]
        return block
    if isinstance(part, Mapping) and part.get("type") == "input_audio":
        audio = part.get("input_audio") or {}
        return {"type": "audio", "data": audio.get("data"), "format": audio.get("format")}
    return part


def _message(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return item
    content = item.get("content")
    if isinstance(content, str) and "tool_calls" not in item and len(item) <= 3:
        return item  # the common case: {"role", "content"[, "name"]}, taken as is
    out: dict[str, Any] = {"role": item.get("role")}
    if isinstance(content, list):
        out["content"] = [_part(p) for p in content]
    elif content is not None:
        out["content"] = content
    if item.get("tool_calls"):
        out["tool_calls"] = [_tool_call(c) for c in item["tool_calls"]]
    for name in ("tool_call_id", "name"):
        if item.get(name) is not None:
            out[name] = item[name]
    return out


def to_messages(messages: Any) -> Any:
    """OpenAI-shaped message dicts (tool calls with JSON-string arguments, `image_url`
    parts, `content: None`) in the shape Conduit's `Message` takes.

    Example:
        >>> to_messages([{"role": "assistant", "content": None, "tool_calls": [{"id": "c1",
        ...     "type": "function", "function": {"name": "f", "arguments": "{}"}}]}])[0]["role"]
        'assistant'
    """
    if messages is None:
        raise ValidationError("completion() needs messages=[{'role': 'user', 'content': ...}]")
    if isinstance(messages, str | Message | Mapping):
        return messages
    return [_message(m) for m in messages]


def _tool(wire: Any) -> Tool:
    if isinstance(wire, Tool):
        return wire
    function = wire.get("function", wire) if isinstance(wire, Mapping) else None
    if not isinstance(function, Mapping):
        raise ValidationError(
            f"a tool looks like {{'type': 'function', 'function': {{...}}}}, not {wire!r}"
        )
    fields = {
        k: function[k] for k in ("name", "description", "parameters", "strict") if k in function
    }
    return Tool(**fields)


def _tool_choice(choice: Any) -> str | None:
    if choice is None or isinstance(choice, str):
        return choice
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        if name:
            return str(name)
    raise ValidationError(
        f"tool_choice must be 'auto', 'none', 'required' or a function, not {choice!r}"
    )


def _response_format(fmt: Any) -> ResponseFormat | None:
    if fmt is None or isinstance(fmt, ResponseFormat):
        return fmt
    if isinstance(fmt, type) and hasattr(fmt, "model_json_schema"):
        return ResponseFormat.from_schema(fmt.__name__, fmt.model_json_schema())
    if not isinstance(fmt, Mapping):
        raise ValidationError(f"response_format must be a dict or a pydantic model, not {fmt!r}")
    kind = fmt.get("type", "json_object")
    if kind == "text":
        return None
    if kind == "json_schema":
        spec = fmt.get("json_schema") or {}
        return ResponseFormat(
            type="json_schema",
            name=spec.get("name"),
            json_schema=spec.get("schema") or {},
            strict=spec.get("strict"),
        )
    return ResponseFormat(type=kind)


def to_options(
    spec: ProviderSpec,
    params: Mapping[str, Any],
    extra: Mapping[str, Any],
    *,
    drop_params: bool,
) -> ChatOptions:
    """`ChatOptions` from LiteLLM's parameters; anything else goes through to the provider
    in `extra`, unless `drop_params` and the provider does not speak OpenAI's API.

    Example:
        >>> from conduit.providers.registry import get_provider
        >>> to_options(get_provider("openai"), {"temperature": 0, "max_tokens": 5},
        ...            {"presence_penalty": 1}, drop_params=False).extra
        {'presence_penalty': 1}
    """
    fields: dict[str, Any] = {}
    for name in ("temperature", "top_p", "seed"):
        if params.get(name) is not None:
            fields[name] = params[name]
    max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    if params.get("stop") is not None:
        fields["stop"] = params["stop"]
    if params.get("tools"):
        fields["tools"] = [_tool(t) for t in params["tools"]]
    choice = _tool_choice(params.get("tool_choice"))
    if choice is not None:
        fields["tool_choice"] = choice
    fmt = _response_format(params.get("response_format"))
    if fmt is not None:
        fields["response_format"] = fmt
    passed = {k: v for k, v in extra.items() if v is not None and k not in _IGNORED}
    if passed and not (drop_params and spec.chat != _OPENAI_ADAPTER):
        fields["extra"] = passed
    return ChatOptions(**fields) if fields else ChatOptions()


# --------------------------------------------------------------------------- the call


class _Call:
    """What one `acompletion()` needs after its inputs are read; built once per call."""

    __slots__ = (
        "budget_names",
        "extra",
        "is_async",
        "log_kwargs",
        "messages",
        "metadata",
        "params",
        "settings",
        "started",
        "started_at",
    )

    def __init__(
        self,
        params: dict[str, Any],
        extra: dict[str, Any],
        settings: config.Settings,
        is_async: bool,
    ) -> None:
        self.params = params
        self.extra = extra
        self.settings = settings
        self.is_async = is_async
        self.messages = to_messages(params["messages"])
        self.metadata: dict[str, Any] = dict(params.get("metadata") or {})
        tags = self.metadata.get("tags") or ()
        self.budget_names = (
            extra.get("user") or self.metadata.get("user"),
            self.metadata.get("user_api_key"),
            tuple(tags),
        )
        self.started = time.perf_counter()
        self.started_at = datetime.now() if settings.has_callbacks else None
        self.log_kwargs: dict[str, Any] | None = None

    def kwargs_for_logs(self, ref: str) -> dict[str, Any]:
        if self.log_kwargs is None or self.log_kwargs["model"] != ref:
            self.log_kwargs = {
                "model": ref,
                "messages": self.params["messages"],
                "optional_params": {
                    **self.extra,
                    **{
                        k: v
                        for k, v in self.params.items()
                        if k not in ("messages", "metadata") and v is not None
                    },
                },
                "litellm_params": {
                    "metadata": self.metadata,
                    "api_base": self.params.get("api_base"),
                },
                "metadata": self.metadata,
                "stream": bool(self.params.get("stream")),
                "call_type": "acompletion" if self.is_async else "completion",
                "litellm_call_id": str(uuid.uuid4()),
                "response_cost": None,
            }
        return self.log_kwargs

    async def succeeded(self, ref: str, response: Response, answer: Any) -> float | None:
        try:
            cost = cost_of(ref, response.usage)
        except ConduitError:
            cost = None
        answer._hidden_params = {
            "response_cost": cost,
            "model_ref": ref,
            "custom_llm_provider": parse_model_ref(ref).provider,
        }
        answer._response_ms = (time.perf_counter() - self.started) * 1000
        budgets = self.settings.budgets
        user, key, tags = self.budget_names
        if budgets is not None:
            await budgets.record(cost, model=ref, user=user, key=key, tags=tags)
        if self.settings.max_budget is not None:
            from conduit.compat.budgeting import process_spend

            process_spend.add(cost)
        s = self.settings
        if s.has_callbacks:
            kw = self.kwargs_for_logs(ref)
            kw["response_cost"] = cost
            end = datetime.now()
            kw["start_time"], kw["end_time"] = self.started_at, end
            assert self.started_at is not None
            await notify_success(
                s.success_callback,
                s.callbacks,
                kw,
                answer,
                self.started_at,
                end,
                is_async=self.is_async,
            )
        return cost

    async def failed(self, ref: str, exc: BaseException) -> None:
        s = self.settings
        if s.has_callbacks:
            kw = self.kwargs_for_logs(ref)
            end = datetime.now()
            kw["start_time"], kw["end_time"] = self.started_at, end
            assert self.started_at is not None
            await notify_failure(
                s.failure_callback,
                s.callbacks,
                kw,
                exc,
                self.started_at,
                end,
                is_async=self.is_async,
            )

    async def check_budgets(self) -> None:
        s = self.settings
        if s.max_budget is not None:
            from conduit.compat.budgeting import process_spend

            if process_spend.total >= s.max_budget:
                raise BudgetExceededError(process_spend.total, s.max_budget)
        if s.budgets is not None:
            user, key, tags = self.budget_names
            await s.budgets.check(user=user, key=key, tags=tags)


class CustomStreamWrapper:
    """The stream `completion(stream=True)` returns (LiteLLM's class name): iterate it
    with `for` (from `completion()`) or `async for` (from `acompletion()`); each item is a
    `chat.completion.chunk`. The request is already answered when you get it (errors
    surface at the call, as with LiteLLM); success callbacks run when the stream ends.
    """

    def __init__(
        self,
        events: AsyncIterator[StreamEvent],
        first: StreamEvent | None,
        maker: ChunkMaker,
        on_end: Callable[[Response | None, BaseException | None], Coroutine[Any, Any, None]],
        model: str,
    ) -> None:
        self._events = events
        self._pending: list[StreamEvent] = [first] if first is not None else []
        self._ready: list[ModelResponseStream] = []
        self._maker = maker
        self._on_end = on_end
        self._done = False
        self.model = model
        self._hidden_params: dict[str, Any] = {}

    def __aiter__(self) -> CustomStreamWrapper:
        return self

    async def __anext__(self) -> ModelResponseStream:
        while not self._ready:
            if self._done:
                raise StopAsyncIteration
            if self._pending:
                event = self._pending.pop()
            else:
                try:
                    event = await self._events.__anext__()
                except StopAsyncIteration:
                    self._done = True
                    await self._on_end(self._maker.response, None)
                    continue
                except BaseException as exc:
                    self._done = True
                    error = translate(exc, model=self.model)
                    await self._on_end(None, error)
                    if error is exc:
                        raise
                    raise error from exc
            self._ready.extend(self._maker.feed(event))
        return self._ready.pop(0)

    def __iter__(self) -> Iterator[ModelResponseStream]:
        return self

    def __next__(self) -> ModelResponseStream:
        try:
            return run_sync(self.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    async def aclose(self) -> None:
        """Stop early and release the connection."""
        self._done = True
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            await aclose()

    def close(self) -> None:
        """`aclose()` for a stream from `completion()`."""
        run_sync(self.aclose())


async def _attempt(
    call: _Call, target: Any, conn_args: dict[str, Any]
) -> ModelResponse | CustomStreamWrapper:
    params = call.params
    settings = call.settings
    if isinstance(target, Mapping):  # a fallback given as {"model": ..., "api_key": ...}
        conn_args = {**conn_args, **{k: v for k, v in target.items() if k != "model"}}
        target = target["model"]
    ref = resolve_model(target, params.get("custom_llm_provider"))
    spec = get_provider(parse_model_ref(ref).provider)
    mock = params.get("mock_response")
    if mock is not None:
        from conduit.providers.fake import MockModel

        chat_model: ChatModel = MockModel([mock], name=parse_model_ref(ref).name)
    else:
        conn = connection_config(
            spec,
            settings,
            api_key=conn_args.get("api_key"),
            api_base=conn_args.get("api_base") or conn_args.get("base_url"),
            timeout=conn_args.get("timeout"),
            num_retries=conn_args.get("num_retries"),
            headers=conn_args.get("extra_headers") or conn_args.get("headers"),
        )
        chat_model = _chat_model(ref, conn)
    drop = params.get("drop_params")
    options = to_options(
        spec, params, call.extra, drop_params=settings.drop_params if drop is None else bool(drop)
    )
    if settings.callbacks:
        await notify_pre_call(
            settings.callbacks, ref, params["messages"], call.kwargs_for_logs(ref)
        )
    name = parse_model_ref(ref).name
    if not params.get("stream"):
        response = await chat_model.chat(call.messages, options)
        answer = from_response(response, model=name)
        await call.succeeded(ref, response, answer)
        return answer
    events = chat_model.stream(call.messages, options)
    try:
        first: StreamEvent | None = await events.__anext__()
    except StopAsyncIteration:
        first = None
    include = bool((params.get("stream_options") or {}).get("include_usage"))
    maker = ChunkMaker(name, include_usage=include)

    async def on_end(response: Response | None, error: BaseException | None) -> None:
        if error is not None:
            await call.failed(ref, error)
        elif response is not None:
            from conduit.compat.responses import from_response as build

            whole = build(response, model=name)
            whole["id"] = maker.id
            await call.succeeded(ref, response, whole)

    return CustomStreamWrapper(events, first, maker, on_end, name)


_KNOWN = (
    "stream",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "tools",
    "tool_choice",
    "response_format",
    "api_key",
    "api_base",
    "base_url",
    "timeout",
    "num_retries",
    "fallbacks",
    "metadata",
    "drop_params",
    "mock_response",
    "custom_llm_provider",
    "stream_options",
    "extra_headers",
    "headers",
)


async def _complete(
    model: Any, messages: Any, kwargs: dict[str, Any], *, is_async: bool
) -> ModelResponse | CustomStreamWrapper:
    params = {k: kwargs.pop(k) for k in _KNOWN if k in kwargs}
    params["messages"] = messages
    extra = kwargs  # what is left: the provider's own parameters, passed through
    settings = config.snapshot()
    try:
        call = _Call(params, extra, settings, is_async)
        await call.check_budgets()
    except ConduitError as exc:
        raise translate(exc, model=str(model)) from exc
    conn_args = {
        k: params.get(k)
        for k in (
            "api_key",
            "api_base",
            "base_url",
            "timeout",
            "num_retries",
            "extra_headers",
            "headers",
        )
    }
    targets: list[Any] = [model, *(params.get("fallbacks") or ())]
    last: BaseException | None = None
    for target in targets:
        try:
            return await _attempt(call, target, conn_args)
        except ConduitError as exc:
            error = translate(exc, model=target if isinstance(target, str) else None)
            await call.failed(str(target), error)
            if isinstance(exc, BudgetExceededError) or (
                exc.status_code is None and isinstance(exc, ValidationError)
            ):
                raise error from (exc if error is not exc else None)
            last = error
            last.__cause__ = exc if error is not exc else exc.__cause__
    assert last is not None
    raise last


async def acompletion(
    model: str,
    messages: Sequence[Mapping[str, Any]] | Any = None,
    *,
    stream: bool = False,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    max_completion_tokens: int | None = None,
    stop: str | list[str] | None = None,
    seed: int | None = None,
    tools: list[Any] | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
    response_format: Mapping[str, Any] | type | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    base_url: str | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - LiteLLM's name: the HTTP timeout
    num_retries: int | None = None,
    fallbacks: list[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    drop_params: bool | None = None,
    mock_response: str | None = None,
    custom_llm_provider: str | None = None,
    **kwargs: Any,
) -> ModelResponse | CustomStreamWrapper:
    """Chat with any model in LiteLLM's terms; an OpenAI-shaped `ModelResponse`, or an
    async iterator of chunks with `stream=True`. Extra keyword arguments
    (`presence_penalty=`, `user=`, `logprobs=`, ...) go to the provider as they are.

    Example:
        >>> import asyncio
        >>> r = asyncio.run(acompletion("fake/echo", [{"role": "user", "content": "Hi"}]))
        >>> r.choices[0].finish_reason, r.usage.total_tokens > 0
        ('stop', True)
    """
    args = {
        k: v
        for k, v in locals().items()
        if k not in ("model", "messages", "kwargs") and v is not None
    }
    return await _complete(model, messages, {**kwargs, **args}, is_async=True)


def completion(
    model: str,
    messages: Sequence[Mapping[str, Any]] | Any = None,
    *,
    stream: bool = False,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    max_completion_tokens: int | None = None,
    stop: str | list[str] | None = None,
    seed: int | None = None,
    tools: list[Any] | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
    response_format: Mapping[str, Any] | type | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    base_url: str | None = None,
    timeout: float | None = None,
    num_retries: int | None = None,
    fallbacks: list[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    drop_params: bool | None = None,
    mock_response: str | None = None,
    custom_llm_provider: str | None = None,
    **kwargs: Any,
) -> ModelResponse | CustomStreamWrapper:
    """`acompletion()` for synchronous code; with `stream=True`, a plain iterator of chunks.

    Example:
        >>> completion("fake/echo", [{"role": "user", "content": "Hi"}]).choices[0].message.role
        'assistant'
    """
    args = {
        k: v
        for k, v in locals().items()
        if k not in ("model", "messages", "kwargs") and v is not None
    }
    return run_sync(_complete(model, messages, {**kwargs, **args}, is_async=False))
