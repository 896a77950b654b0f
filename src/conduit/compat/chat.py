"""`completion()` / `acompletion()` with LiteLLM's signature, over Conduit's spine.

The call is translated once, at the edge, and every behaviour comes from the core:

- the model string goes to the one resolver (`conduit.api.resolve_ref`: a prefixed or
  bare catalog name; one LiteLLM cannot place raises LiteLLM's `BadRequestError` "LLM
  Provider NOT provided", with Conduit's close matches) and the one model cache
  (`cached_model`), with the connection settings by the precedence call > settings >
  environment; `num_retries` becomes the model's `RetryPolicy`, `timeout` its `Timeout`;
- `fallbacks` become a core `conduit.routing.Router` over the model and its fallbacks
  (built lazily, so a fallback whose key is missing is just a failure to fall back from);
- `mock_response` is a model too (`conduit.compat.mock`), priced as the model it names;
- budgets (`litellm.max_budget`, `litellm.budgets`) are the core `Budget` interceptor
  around the model (`conduit.compat.budgeting`);
- the cost is the answer's own (`conduit.catalog.response_cost`).

What is left here is LiteLLM's: its argument names in, its objects (`ModelResponse`,
chunks) and error classes out, and its callbacks. `completion()` runs `acompletion()`
through Conduit's sync bridge (no second implementation).

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

from conduit.api.resolve import Kind, cached_model, model_info, resolve_ref
from conduit.catalog import parse_model_ref
from conduit.compat import config
from conduit.compat.bookkeeping import Call
from conduit.compat.budgeting import budget_interceptors
from conduit.compat.caching.caching import uses_cache
from conduit.compat.custom_logger import notify_pre_call
from conduit.compat.mock import MockResponseModel, MockTimeout
from conduit.compat.providers import to_conduit, unsupported
from conduit.compat.request import options_spec, to_messages, to_options
from conduit.compat.responses import ChunkMaker, ModelResponse, from_response
from conduit.compat.stream import CustomStreamWrapper
from conduit.core.policy import RetryPolicy, Timeout
from conduit.core.protocols import ChatModel
from conduit.core.sync import run_sync
from conduit.errors import ConduitError, NotFoundError, ValidationError
from conduit.interceptors import with_interceptors
from conduit.providers.registry import ProviderSpec, get_provider
from conduit.routing import Deployment, Router
from conduit.schema import Prices, Response, StreamEvent

__all__ = [
    "Bounds",
    "CustomStreamWrapper",
    "Target",
    "acompletion",
    "call_prices",
    "chat_model_for",
    "complete",
    "completion",
    "connection_config",
    "place_model",
    "recording",
    "resolve_model",
    "to_messages",
    "to_options",
    "worst_case",
]

Bounds = tuple[Prices | None, int | None]
"""The highest prices and longest answer among the models a call may reach."""

# The connection settings a call (or a fallback) may give.
_CONNECTION = (
    "api_key",
    "api_base",
    "base_url",
    "timeout",
    "num_retries",
    "extra_headers",
    "headers",
    "api_version",
)

# --------------------------------------------------------------------------- inputs


def resolve_model(model: str, custom_llm_provider: str | None = None, kind: Kind = "chat") -> str:
    """`"provider/model"` for what a LiteLLM user passes: LiteLLM's provider names in
    Conduit's (`vertex_ai/` is `vertex/`, `together_ai/` is `together/`, and
    `custom_llm_provider="openai"` with `"gpt-4o"` gives `"openai/gpt-4o"`); the rest is
    Conduit's one resolver's (`conduit.api.resolve_ref`: a prefixed name as is, a bare
    catalog name to its vendor). `litellm.model_alias_map` names are replaced first.

    Example:
        >>> resolve_model("gpt-4o-mini"), resolve_model("my-model", "openai")
        ('openai/gpt-4o-mini', 'openai/my-model')
    """
    if isinstance(model, str):
        aliases = dict(config.snapshot().model_alias_map)
        model = aliases.get(model, model)
        model = to_conduit(model, custom_llm_provider)
    return resolve_ref(model, kind)


def place_model(
    model: Any,
    custom_llm_provider: str | None = None,
    kind: Kind = "chat",
    *,
    mock: bool = False,
) -> str:
    """`resolve_model` at a call's edge: a model the resolver cannot place (an unknown
    bare name or provider) is LiteLLM's `BadRequestError` ("LLM Provider NOT provided"),
    with the resolver's close matches; a LiteLLM provider Conduit has no adapter for is a
    `BadRequestError` saying so, unless the call is a mock (`mock=True`: nothing is sent,
    so `"replicate/x"` answers as LiteLLM's would).

    Example:
        >>> try:
        ...     place_model("gpt-4o-mni")
        ... except Exception as exc:
        ...     print(type(exc).__name__, "gpt-4o-mini" in str(exc))
        BadRequestError True
        >>> place_model("cohere_chat/command-r", mock=True)
        'cohere/command-r'
    """
    from conduit.compat.exceptions import BadRequestError, provider_not_provided

    if isinstance(model, str):
        foreign = unsupported(model, custom_llm_provider)
        if foreign is not None:
            if mock:
                return to_conduit(model, custom_llm_provider)
            from conduit.providers.registry import provider_names

            raise BadRequestError(
                f"LiteLLM's provider {foreign!r} has no Conduit adapter, so {model!r} cannot "
                f"be called (mock_response= still answers). Conduit calls: "
                f"{', '.join(provider_names())}",
                model=model,
                llm_provider=foreign,
            )
    try:
        return resolve_model(model, custom_llm_provider, kind)
    except (NotFoundError, ValidationError) as exc:
        raise provider_not_provided(model, exc) from exc


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
    (None is left out, so the provider reads its environment variables); the timeout as
    a `Timeout`, the retries as a `RetryPolicy` (checked here, named as LiteLLM names
    them).

    Example:
        >>> from conduit.providers.registry import get_provider
        >>> conn = connection_config(get_provider("openai"), config.Settings(api_key="sk-m"),
        ...                          api_key=None, api_base=None, timeout=30, num_retries=0)
        >>> conn["api_key"], conn["timeout"].total, conn["max_retries"].max_retries
        ('sk-m', 30.0, 0)
    """
    if spec.key_env is None and spec.base_url is None and spec.name in ("fake", "local"):
        return {}  # in-process providers (fake, local) take no connection settings
    out: dict[str, Any] = {}
    key = settings.key_for(spec.name, api_key)
    if key:
        out["api_key"] = key
    base = api_base or settings.api_base
    if base:
        out["base_url"] = base
    if timeout is not None:
        out["timeout"] = Timeout.of(timeout, name="timeout")
    elif settings.request_timeout is not None:
        out["timeout"] = Timeout.of(settings.request_timeout, name="request_timeout")
    if num_retries is not None:
        out["max_retries"] = RetryPolicy.of(num_retries, name="num_retries")
    elif settings.num_retries is not None:
        out["max_retries"] = RetryPolicy.of(settings.num_retries, name="num_retries")
    if headers:
        out["headers"] = dict(headers)
    return out


def _connection(ref: str, args: Mapping[str, Any], settings: config.Settings) -> dict[str, Any]:
    spec = get_provider(parse_model_ref(ref).provider)
    out = connection_config(
        spec,
        settings,
        api_key=args.get("api_key"),
        api_base=args.get("api_base") or args.get("base_url"),
        timeout=args.get("timeout"),
        num_retries=args.get("num_retries"),
        headers=args.get("extra_headers") or args.get("headers"),
    )
    if args.get("api_version") and spec.name == "azure":
        out["api_version"] = args["api_version"]  # Azure's dated API version
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
    return cached_model(ref, **_connection(ref, params, config.snapshot()))


def worst_case(infos: Sequence[tuple[Prices | None, int | None]]) -> Bounds:
    """The highest input and output prices and the longest answer among `(prices,
    max_output_tokens)` of the models a call may reach (unknown ones left out), so a
    budget reserves enough whichever answers.

    Example:
        >>> worst_case([(Prices(input=1, output=4), 100), (Prices(input=2, output=3), None)])
        (Prices(input=2, output=4, cached_input=None, cache_write=None), 100)
    """
    known = [p for p, _ in infos if p is not None]
    prices = None
    if known:
        inputs = [p.input for p in known if p.input is not None]
        outputs = [p.output for p in known if p.output is not None]
        prices = Prices(input=max(inputs, default=None), output=max(outputs, default=None))
    longest = [n for _, n in infos if n is not None]
    return prices, max(longest, default=None)


def _facts(ref: str) -> tuple[Prices | None, int | None]:
    info = model_info(ref)
    return info.prices, info.max_output_tokens


@dataclass(slots=True)
class Target:
    """Where a call goes, in core terms: `model` (a `ChatModel`: one model, a router
    group, a mock), the `refs` it may reach, the `name` it answers under, whether it is a
    router group (`routed`: its answers say which deployment), and `bounds` for budgets
    when `model` cannot say its own prices (None: it can)."""

    model: ChatModel
    refs: tuple[str, ...]
    name: str
    routed: bool = False
    bounds: Callable[[], Bounds] | None = None


def _single(model: Any, params: Mapping[str, Any], settings: config.Settings) -> Target:
    """The target of a plain `completion()`: the model, a mock of it, or a core router
    over it and its `fallbacks`."""
    provider = params.get("custom_llm_provider")
    mock = params.get("mock_response")
    ref = place_model(model, provider, mock=mock is not None)
    if mock is not None:
        return Target(MockResponseModel(mock, ref), (ref,), ref)
    args = {k: params[k] for k in _CONNECTION if params.get(k) is not None}
    fallbacks = params.get("fallbacks")
    if not fallbacks:
        return Target(cached_model(ref, **_connection(ref, args, settings)), (ref,), ref)
    deployments = [Deployment(ref, id="0", connection=_connection(ref, args, settings))]
    for n, entry in enumerate(fallbacks, 1):
        more = args
        if isinstance(entry, Mapping):  # {"model": ..., "api_base": ..., ...}
            more = {**args, **{k: entry[k] for k in _CONNECTION if entry.get(k) is not None}}
            entry = entry.get("model")
        fallback = place_model(entry, provider)
        connection = _connection(fallback, more, settings)
        deployments.append(Deployment(fallback, id=str(n), connection=connection))
    router = Router(
        {d.id or "": [d] for d in deployments},
        retry=0,  # each model retries by its own num_retries
        cooldown_seconds=0,
        fallbacks={"0": [d.id or "" for d in deployments[1:]]},
    )
    refs = tuple(d.ref for d in deployments)
    return Target(router.model("0"), refs, ref, bounds=lambda: worst_case(list(map(_facts, refs))))


async def complete(
    model: Any,
    messages: Any,
    kwargs: dict[str, Any],
    *,
    is_async: bool,
    target: Callable[[Any, dict[str, Any], config.Settings], Target] = _single,
) -> ModelResponse | CustomStreamWrapper:
    """One LiteLLM call: `model` and `kwargs` (LiteLLM's names) to a `Target` (by
    `target(model, params, settings)`: a model, or a `Router` group), then the core call
    and LiteLLM's objects, error classes and callbacks out.

    Example:
        >>> import asyncio
        >>> asyncio.run(complete("fake/echo", "Hi", {}, is_async=True)).choices[0].message.content
        'Hi'
    """
    params = {k: kwargs.pop(k) for k in _KNOWN if k in kwargs}
    params["messages"] = messages
    extra = kwargs  # what is left: the provider's own parameters, passed through
    if extra.pop("mock_timeout", None):  # LiteLLM's: wait for the timeout, then time out
        params["mock_response"] = MockTimeout(float(params.get("timeout") or 600))
    settings = config.snapshot()
    from conduit.compat.exceptions import translate

    try:
        call = Call(params, extra, settings, is_async)
    except ConduitError as exc:
        raise translate(exc, model=str(model)) from exc
    name = str(model)
    try:
        where = target(model, params, settings)
        name = where.name
        return await _call(call, where, params, extra, settings)
    except ConduitError as exc:
        from conduit.compat.exceptions import translate

        error = translate(exc, model=name)
        await call.failed(name, error)
        if error is exc:
            raise
        raise error from exc


async def _call(
    call: Call,
    where: Target,
    params: dict[str, Any],
    extra: dict[str, Any],
    settings: config.Settings,
) -> ModelResponse | CustomStreamWrapper:
    drop = params.get("drop_params")
    spec = options_spec([_spec(parse_model_ref(r).provider) for r in where.refs])
    options = to_options(
        spec, params, extra, drop_params=settings.drop_params if drop is None else bool(drop)
    )
    chat_model = where.model
    if uses_cache(settings.cache, params.get("caching"), params.get("cache")):
        chat_model = with_interceptors(chat_model, [settings.cache.interceptor])
    if settings.usage_ledger is not None:
        chat_model = with_interceptors(chat_model, [recording(settings.usage_ledger, call)])
    if settings.max_budget is not None or settings.budgets is not None:
        prices, longest = where.bounds() if where.bounds is not None else (None, None)
        user, key, tags = call.budget_names
        guards = budget_interceptors(
            settings.max_budget,
            settings.budgets,
            user=user,
            key=key,
            tags=tags,
            prices=prices,
            max_output_tokens=longest,
        )
        if guards:
            chat_model = with_interceptors(chat_model, guards)
    if settings.callbacks:
        await notify_pre_call(
            settings.callbacks, where.name, params["messages"], call.kwargs_for_logs(where.name)
        )
    shown = where.name if where.routed else parse_model_ref(where.name).name
    prices = call_prices(params)
    if not params.get("stream"):
        response = await chat_model.chat(call.messages, options)
        if prices is not None and not response.metadata.get("cache_hit"):
            response.cost = prices.cost(response.usage)  # the call's own prices
        answer = from_response(response, model=shown)
        await call.succeeded(where.name, response, answer, routed=where.routed)
        return answer
    events = chat_model.stream(call.messages, options)
    try:
        first: StreamEvent | None = await events.__anext__()
    except StopAsyncIteration:
        first = None
    include = bool((params.get("stream_options") or {}).get("include_usage"))
    maker = ChunkMaker(shown, include_usage=include)

    async def on_end(response: Response | None, error: BaseException | None) -> None:
        if error is not None:
            await call.failed(where.name, error)
        elif response is not None:
            whole = from_response(response, model=shown)
            whole["id"] = maker.id
            await call.succeeded(where.name, response, whole, routed=where.routed)
            wrapper._hidden_params.update(whole._hidden_params)

    wrapper = CustomStreamWrapper(events, first, maker, on_end, shown)
    return wrapper


def _spec(provider: str) -> ProviderSpec:
    try:
        return get_provider(provider)
    except NotFoundError:  # a mock of a LiteLLM provider Conduit cannot call
        return get_provider("openai")


def call_prices(params: Mapping[str, Any]) -> Prices | None:
    """The call's own prices (LiteLLM's `input_cost_per_token`/`output_cost_per_token`,
    or `custom_cost_per_token={"input_cost_per_token": ..., ...}`), else None.

    Example:
        >>> call_prices({"custom_cost_per_token": {"input_cost_per_token": 1e-6,
        ...                                        "output_cost_per_token": 2e-6}})
        Prices(input=1.0, output=2.0, cached_input=None, cache_write=None)
    """
    from conduit.routing.litellm_config import prices_of

    custom = params.get("custom_cost_per_token")
    if isinstance(custom, Mapping):
        return prices_of(custom, "custom_cost_per_token")
    if params.get("input_cost_per_token") is None and params.get("output_cost_per_token") is None:
        return None
    return prices_of(params, "completion")


def recording(ledger: Any, call: Call) -> Any:
    """The core `RecordUsage` interceptor for `litellm.usage_ledger` (True: Conduit's one
    ledger; a URL or path; an `EventStore`; a `UsageRecorder`), tagged `compat`, with the
    call's user and tags.

    Example:
        >>> from conduit.storage.ledger import open_ledger
        >>> c = Call({"messages": "Hi"}, {"user": "bob"}, config.snapshot(), is_async=True)
        >>> recording(open_ledger(":memory:"), c).defaults["user"]
        'bob'
    """
    from conduit.interceptors import RecordUsage
    from conduit.storage.ledger import open_ledger
    from conduit.storage.recorder import UsageRecorder

    global _ledger_for
    if ledger is True or isinstance(ledger, str | PathLike):
        key = None if ledger is True else str(ledger)
        if _ledger_for is None or _ledger_for[0] != key:
            _ledger_for = (key, UsageRecorder(open_ledger(key)))
        ledger = _ledger_for[1]
    user, _, tags = call.budget_names
    return RecordUsage(ledger, tag="compat", tags=tags, user=user)


_ledger_for: tuple[str | None, Any] | None = None

_KNOWN = (
    "caching",
    "cache",
    "custom_cost_per_token",
    "input_cost_per_token",
    "output_cost_per_token",
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
    mock_response: Any = None,
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
    return await complete(model, messages, {**kwargs, **args}, is_async=True)


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
    mock_response: Any = None,
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
    return run_sync(complete(model, messages, {**kwargs, **args}, is_async=False))
