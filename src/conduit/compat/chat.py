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

from collections.abc import Mapping, Sequence
from typing import Any

from conduit.api.resolve import cached_model, resolve_ref
from conduit.catalog import parse_model_ref
from conduit.compat import config
from conduit.compat.bookkeeping import Call as _Call
from conduit.compat.custom_logger import notify_pre_call
from conduit.compat.exceptions import BudgetExceededError, translate
from conduit.compat.request import to_messages, to_options
from conduit.compat.responses import (
    ChunkMaker,
    ModelResponse,
    from_response,
)
from conduit.compat.stream import CustomStreamWrapper
from conduit.core.protocols import ChatModel
from conduit.core.sync import run_sync
from conduit.errors import ConduitError, ValidationError
from conduit.providers.registry import ProviderSpec, get_provider
from conduit.schema import (
    Response,
    StreamEvent,
)

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

# --------------------------------------------------------------------------- inputs


def resolve_model(model: str, custom_llm_provider: str | None = None) -> str:
    """`"provider/model"` for what a LiteLLM user passes: `custom_llm_provider="openai"`
    with `"gpt-4o"` gives `"openai/gpt-4o"`; anything else goes to Conduit's one resolver
    (`conduit.api.resolve_ref`: a prefixed name as is, a bare catalog name to its vendor).

    Example:
        >>> resolve_model("gpt-4o-mini"), resolve_model("my-model", "openai")
        ('openai/gpt-4o-mini', 'openai/my-model')
    """
    if custom_llm_provider and isinstance(model, str):
        prefix = f"{custom_llm_provider}/"
        model = model if model.startswith(prefix) else prefix + model
    return resolve_ref(model)


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
        out["timeout"] = seconds  # seconds or a Timeout; the resolver checks it
    retries = num_retries if num_retries is not None else settings.num_retries
    if retries is not None:
        out["max_retries"] = int(retries)
    if headers:
        out["headers"] = dict(headers)
    return out


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
    return cached_model(ref, **conn)


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
        chat_model = cached_model(ref, **conn)
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
