"""LiteLLM's catalog helpers over Conduit's catalog (`models.toml`, offline):
`completion_cost()`, `cost_per_token()`, `token_counter()`, `get_model_info()`,
`supports_function_calling()`, `supports_vision()`, `supports_response_schema()`.

Models are named as for `completion()`: `"openai/gpt-4o"`, or a bare name the catalog
lists under one provider (`"gpt-4o"`).

Example:
    >>> token_counter(model="gpt-4o", messages=[{"role": "user", "content": "hello world"}])
    9
    >>> get_model_info("gpt-4o-mini")["max_input_tokens"], supports_function_calling("gpt-4o")
    (128000, True)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from conduit.api import count_tokens
from conduit.catalog import CatalogEntry, find_model, models, reload_catalog, response_cost, tokens
from conduit.catalog.registry import add_catalog_source
from conduit.compat.chat import resolve_model, to_messages
from conduit.compat.providers import litellm_name, to_conduit
from conduit.errors import ConduitError, NotFoundError, ValidationError
from conduit.schema import Response, Usage

__all__ = [
    "completion_cost",
    "cost_per_token",
    "decode",
    "encode",
    "get_llm_provider",
    "get_max_tokens",
    "get_model_cost_map",
    "get_model_info",
    "model_cost",
    "register_model",
    "supports_audio_input",
    "supports_audio_output",
    "supports_function_calling",
    "supports_parallel_function_calling",
    "supports_prompt_caching",
    "supports_response_schema",
    "supports_system_messages",
    "supports_tool_choice",
    "supports_vision",
    "token_counter",
]


def _not_mapped(model: str, provider: str | None = None) -> Exception:
    from conduit.compat.exceptions import ModelNotMappedError

    return ModelNotMappedError(
        f"This model isn't mapped yet. model={model}, custom_llm_provider={provider}. "
        "Add it to Conduit's catalog ($CONDUIT_CACHE_DIR/models.toml, or run "
        "`conduit models update`).",
        model=model,
    )


def _ref(model: str, custom_llm_provider: str | None = None) -> str:
    """The one resolver's reference for a chat model's name, else an embedding model's;
    a LiteLLM provider Conduit cannot call keeps its prefix (its facts may be known)."""
    try:
        return resolve_model(model, custom_llm_provider)
    except ConduitError:
        try:
            return resolve_model(model, custom_llm_provider, "embed")
        except ConduitError:
            ref = to_conduit(model, custom_llm_provider)
            if "/" in ref and find_model(ref) is not None:
                return ref
            raise


def _priced(model: str) -> str:
    """The reference of a model the catalog has prices for. A model LiteLLM cannot
    place is its `BadRequestError` (as in `completion()`); a placed one the catalog has
    no prices for is `ModelNotMappedError`."""
    try:
        ref = _ref(model)
    except (NotFoundError, ValidationError) as exc:
        from conduit.compat.exceptions import provider_not_provided

        raise provider_not_provided(model, exc) from exc
    entry = find_model(ref)
    if entry is None or (entry.input_price is None and entry.output_price is None):
        raise _not_mapped(model)
    return ref


def cost_per_token(
    model: str = "",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    custom_cost_per_token: Mapping[str, float] | None = None,
    **_: Any,
) -> tuple[float, float]:
    """(USD for the prompt tokens, USD for the completion tokens), at the catalog's
    prices or `custom_cost_per_token={"input_cost_per_token": ..., ...}`.

    Example:
        >>> cost_per_token("openai/gpt-4o-mini", prompt_tokens=1_000_000, completion_tokens=0)
        (0.15, 0.0)
    """
    if custom_cost_per_token:
        from conduit.compat.chat import call_prices

        prices = call_prices({"custom_cost_per_token": custom_cost_per_token})
        assert prices is not None
        asked = prices.cost(Usage(input_tokens=prompt_tokens)) or 0.0
        return float(asked), float(prices.cost(Usage(output_tokens=completion_tokens)) or 0.0)
    ref = _priced(model)
    prompt = response_cost(Response(usage=Usage(input_tokens=prompt_tokens)), ref)
    answer = response_cost(Response(usage=Usage(output_tokens=completion_tokens)), ref)
    return float(prompt or 0.0), float(answer or 0.0)


def completion_cost(
    completion_response: Any = None,
    model: str | None = None,
    prompt: str = "",
    completion: str = "",
    messages: Any = None,
    custom_cost_per_token: Mapping[str, float] | None = None,
    **_: Any,
) -> float:
    """USD for an answer (a `ModelResponse`, or a model with prompt and completion text).

    Example:
        >>> import conduit.compat as litellm
        >>> r = litellm.completion("openai/gpt-4o-mini", [{"role": "user", "content": "Hi"}],
        ...                        mock_response="Hello")
        >>> completion_cost(r) > 0
        True
    """
    if completion_response is not None:
        hidden = getattr(completion_response, "_hidden_params", None) or {}
        if model is None and hidden.get("response_cost") is not None:
            return float(hidden["response_cost"])
        name = model or hidden.get("model_ref") or completion_response.get("model") or ""
        usage = completion_response.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        conduit_usage = Usage(
            input_tokens=usage.get("prompt_tokens") or 0,
            output_tokens=usage.get("completion_tokens") or 0,
            cache_read_tokens=details.get("cached_tokens") or 0,
        )
    else:
        if not model:
            raise ValidationError("completion_cost() needs completion_response= or model=")
        name = model
        prompt_tokens = (
            token_counter(model=model, messages=messages)
            if messages
            else token_counter(model=model, text=prompt)
        )
        conduit_usage = Usage(
            input_tokens=prompt_tokens, output_tokens=token_counter(model=model, text=completion)
        )
    if custom_cost_per_token:
        from conduit.compat.chat import call_prices

        prices = call_prices({"custom_cost_per_token": custom_cost_per_token})
        return float((prices.cost(conduit_usage) if prices else 0.0) or 0.0)
    ref = _priced(name)
    cost = response_cost(Response(usage=conduit_usage), ref)  # the one cost function
    return float(cost or 0.0)


def token_counter(
    model: str = "",
    text: str | list[str] | None = None,
    messages: Any = None,
    tools: list[Any] | None = None,
    tool_choice: Any = None,
    **_: Any,
) -> int:
    """Tokens in `text` or `messages` (with the definitions of `tools` and a forced
    `tool_choice`, and images as OpenAI counts them) for `model`: exact for OpenAI
    models, an estimate with a GPT tokenizer otherwise, as LiteLLM does.

    Example:
        >>> token_counter(model="openai/gpt-4o", text="hello world")
        2
        >>> tool = {"type": "function", "function": {"name": "now"}}
        >>> token_counter(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
        ...               tools=[tool]) > token_counter(model="gpt-4o", messages="hi")
        True
    """
    if isinstance(text, list):
        text = "".join(text)
    content: Any = to_messages(messages) if messages is not None else (text or "")
    if isinstance(content, str) and messages is not None:
        content = [{"role": "user", "content": content}]
    try:
        ref = resolve_model(model) if model else None
    except ConduitError:
        ref = None
    if ref is None or not ref.startswith("openai/"):
        # an estimate with a GPT tokenizer for every model but OpenAI's (and local
        # ones, which count with their own tokenizer)
        if ref is not None and ref.startswith("local/"):
            return count_tokens(ref, content)
        ref = "unknown/model"
    if tools or tool_choice is not None:
        return tokens.count_tokens(ref, content, tools=tools, tool_choice=tool_choice)
    return tokens.count_tokens(ref, content)


def _info_dict(entry: CatalogEntry) -> dict[str, Any]:
    """A catalog entry in LiteLLM's keys (prices per token)."""

    def per_token(price: float | None) -> float | None:
        return None if price is None else price / 1_000_000

    caps = entry.capabilities
    chat = entry.kind == "chat"
    return {
        "key": entry.name,
        "max_tokens": entry.max_output_tokens or entry.context_window,
        "max_input_tokens": entry.context_window,
        "max_output_tokens": entry.max_output_tokens,
        "input_cost_per_token": per_token(entry.input_price) or 0.0,
        "output_cost_per_token": per_token(entry.output_price) or 0.0,
        "cache_read_input_token_cost": per_token(entry.cached_input_price),
        "cache_creation_input_token_cost": per_token(entry.cache_write_price),
        "litellm_provider": litellm_name(entry.provider),
        "mode": "chat" if chat else "embedding",
        "supports_function_calling": chat and caps.tools,
        "supports_parallel_function_calling": chat and caps.tools,
        "supports_tool_choice": chat and caps.tools,
        "supports_vision": caps.vision,
        "supports_audio_input": caps.audio,
        "supports_audio_output": caps.audio_output,
        "supports_response_schema": chat and caps.json_schema,
        "supports_prompt_caching": entry.cached_input_price is not None,
        "supports_system_messages": chat,
        "source": entry.source,
    }


def get_model_info(model: str, custom_llm_provider: str | None = None) -> dict[str, Any]:
    """Limits, prices (USD per token) and capabilities in LiteLLM's keys.

    Example:
        >>> info = get_model_info("openai/gpt-4o-mini")
        >>> info["litellm_provider"], info["mode"], info["supports_vision"]
        ('openai', 'chat', True)
    """
    try:
        entry = find_model(_ref(model, custom_llm_provider))
    except ConduitError:
        entry = None
    if entry is None:
        entry = _by_litellm_name(model, custom_llm_provider)
    if entry is None:
        raise _not_mapped(model, custom_llm_provider)
    return _info_dict(entry)


def _by_litellm_name(model: str, provider: str | None) -> CatalogEntry | None:
    """The entry LiteLLM's model map would key a name the resolver cannot place under:
    an OpenAI fine-tune `ft:<base>:<org>:<suffix>:<id>` is its `ft:<base>` entry (else
    its base model's), as LiteLLM prices it; a bare name only one provider lists (Azure's
    `gpt-35-turbo`, named by deployment, so never resolved for a call) is that entry.

    Example:
        >>> _by_litellm_name("ft:gpt-4o-mini-2024-07-18:acme::abc123", None).name
        'ft:gpt-4o-mini-2024-07-18'
        >>> _by_litellm_name("gpt-35-turbo", None).provider
        'azure'
    """
    prefix, _, name = model.rpartition("/")
    if name.startswith("ft:") and (prefix or provider or "openai") == "openai":
        base = name.split(":")[1]
        return find_model(f"openai/ft:{base}") or find_model(f"openai/{base}")
    if prefix or provider:
        return None
    found = [entry for entry in models(all_providers=True) if entry.name == model]
    return found[0] if len({entry.provider for entry in found}) == 1 else None


def get_max_tokens(model: str) -> int | None:
    """The model's longest answer (LiteLLM's `max_tokens`); raises for an unknown model.

    Example:
        >>> get_max_tokens("gpt-4o-mini")
        16384
    """
    info = get_model_info(model)
    return info["max_output_tokens"] or info["max_tokens"]  # type: ignore[no-any-return]


def get_llm_provider(
    model: str,
    custom_llm_provider: str | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
    litellm_params: Any = None,
) -> tuple[str, str, str | None, str | None]:
    """`(model name, provider, api key, api base)` as LiteLLM answers it, in LiteLLM's
    provider names: the one resolver places the model (a bare name by the catalog); one it
    cannot place is LiteLLM's `BadRequestError` ("LLM Provider NOT provided").

    Example:
        >>> get_llm_provider("gpt-4o-mini"), get_llm_provider("vertex_ai/gemini-2.5-pro")[:2]
        (('gpt-4o-mini', 'openai', None, None), ('gemini-2.5-pro', 'vertex_ai'))
    """
    try:
        ref = _ref(model, custom_llm_provider)
    except (NotFoundError, ValidationError) as exc:
        from conduit.compat.exceptions import provider_not_provided

        raise provider_not_provided(model, exc) from exc
    provider, _, name = ref.partition("/")
    return name, litellm_name(provider), api_key, api_base


_registered: dict[str, dict[str, Any]] = {}


def _registered_catalog() -> list[tuple[dict[str, Any], str]]:
    rows = []
    for key, spec in _registered.items():
        ref = to_conduit(key, spec.get("litellm_provider"))
        if "/" not in ref:
            continue
        provider, _, name = ref.partition("/")
        mode = "embedding" if spec.get("mode") == "embedding" else "chat"
        row: dict[str, Any] = {"provider": provider, "name": name, "kind": mode}
        caps = ["streaming", "json_mode"] if mode == "chat" else []
        for flag, cap in (
            ("supports_function_calling", "tools"),
            ("supports_vision", "vision"),
            ("supports_response_schema", "json_schema"),
        ):
            if spec.get(flag):
                caps.append(cap)
        row["capabilities"] = caps
        for field, price in (
            ("input_cost_per_token", "input_price"),
            ("output_cost_per_token", "output_price"),
            ("cache_read_input_token_cost", "cached_input_price"),
        ):
            if spec.get(field) is not None:
                row[price] = float(spec[field]) * 1_000_000
        for field, limit in (
            ("max_input_tokens", "context_window"),
            ("max_output_tokens", "max_output_tokens"),
        ):
            if spec.get(field):
                row[limit] = int(spec[field])
        rows.append(row)
    return [({"models": rows}, "litellm.register_model")] if rows else []


def register_model(model_cost: Mapping[str, Mapping[str, Any]] | str) -> dict[str, Any]:
    """Add or change models in the catalog, in LiteLLM's map shape: `{"provider/model":
    {"input_cost_per_token": ..., "output_cost_per_token": ..., "litellm_provider": ...,
    "max_tokens": ..., "mode": "chat"}}`. They join Conduit's catalog (over the packaged
    data), so costs, budgets and `get_model_info` use them in every face.

    Example:
        >>> _ = register_model({"openai/my-tuned-model": {"input_cost_per_token": 1e-06,
        ...                     "output_cost_per_token": 2e-06}})
        >>> cost_per_token("openai/my-tuned-model", prompt_tokens=10, completion_tokens=10)
        (1e-05, 2e-05)
    """
    if isinstance(model_cost, str):
        import json
        from pathlib import Path

        model_cost = json.loads(Path(model_cost).read_text(encoding="utf-8"))
    assert isinstance(model_cost, Mapping)
    for key, spec in model_cost.items():
        known: dict[str, Any] = {}
        with contextlib.suppress(ConduitError):
            known = get_model_info(key)
        merged = {k: v for k, v in known.items() if v is not None}
        merged.update(dict(spec))
        if "max_tokens" in spec and "max_output_tokens" not in spec:
            merged["max_output_tokens"] = spec["max_tokens"]
        _registered[key] = merged
    add_catalog_source(_registered_catalog)
    reload_catalog()
    _update_user_map(model_cost)
    return dict(model_cost)


def _update_user_map(registered: Mapping[str, Mapping[str, Any]]) -> None:
    """A program that set `litellm.model_cost` to its own dict (`get_model_cost_map()`)
    sees registrations there too, as LiteLLM's `register_model` updates that dict."""
    import conduit.compat as package

    current = package.__dict__.get("model_cost")
    if isinstance(current, dict):
        for key, spec in registered.items():
            current[key] = {**current.get(key, {}), **dict(spec)}


class _ModelCost(Mapping[str, dict[str, Any]]):
    """LiteLLM's `litellm.model_cost`: every catalog model (thousands, from public data
    and the curated file) by LiteLLM's key (`"gpt-4o"` for OpenAI's and Anthropic's
    models, `"provider/name"` for others), in LiteLLM's fields; read-only, built on
    first use."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._data is None:
            data: dict[str, dict[str, Any]] = {}
            for entry in models(all_providers=True):
                info = _info_dict(entry)
                bare = entry.provider in ("openai", "anthropic")
                data.setdefault(
                    entry.name if bare else f"{litellm_name(entry.provider)}/{entry.name}", info
                )
            self._data = data
        return self._data

    def __getitem__(self, key: str) -> dict[str, Any]:
        found = self._load().get(key)
        if found is None:
            try:
                return get_model_info(key)
            except ConduitError:
                raise KeyError(key) from None
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in self._load() or self.get(key) is not None)


model_cost: Mapping[str, dict[str, Any]] = _ModelCost()
"""LiteLLM's `litellm.model_cost`, from Conduit's catalog.

Example:
    >>> len(model_cost) > 2000, model_cost["gpt-4o-mini"]["litellm_provider"]
    (True, 'openai')
"""


def get_model_cost_map(url: str = "") -> dict[str, dict[str, Any]]:
    """LiteLLM's `get_model_cost_map(url)`: a fresh, mutable copy of `model_cost` (what
    LiteLLM loads with `LITELLM_LOCAL_MODEL_COST_MAP=True`). `url` is accepted and not
    fetched: the catalog's data is packaged, and refreshed by `conduit models update`.

    Example:
        >>> cost_map = get_model_cost_map(url="")
        >>> cost_map["gpt-4o-mini"]["mode"], cost_map is not get_model_cost_map()
        ('chat', True)
    """
    return {key: dict(info) for key, info in model_cost.items()}


def encode(model: str = "", text: str = "", **_: Any) -> list[int]:
    """Token ids of `text` (OpenAI's tokenizer for `model`, o200k_base otherwise).

    Example:
        >>> decode("gpt-4o", encode("gpt-4o", "hello world"))
        'hello world'
    """
    try:
        ref = resolve_model(model) if model else "openai/gpt-4o"
    except ConduitError:
        ref = "openai/gpt-4o"
    name = ref.partition("/")[2] if ref.startswith("openai/") else "gpt-4o"
    return list(tokens.encoding_for(name).encode(text, disallowed_special=()))


def decode(model: str = "", tokens: list[int] | None = None, **_: Any) -> str:
    """The text of token ids (the inverse of `encode`)."""
    from conduit.catalog import tokens as counting

    try:
        ref = resolve_model(model) if model else "openai/gpt-4o"
    except ConduitError:
        ref = "openai/gpt-4o"
    name = ref.partition("/")[2] if ref.startswith("openai/") else "gpt-4o"
    return str(counting.encoding_for(name).decode(list(tokens or ())))


def _supports(model: str, custom_llm_provider: str | None, name: str) -> bool:
    try:
        entry = find_model(_ref(model, custom_llm_provider))
    except ConduitError:  # an unknown model or provider: LiteLLM answers False too
        return False
    return bool(entry is not None and _info_dict(entry).get(name))


def supports_function_calling(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the catalog says the model takes tools (False for a model it does not list).

    Example:
        >>> supports_function_calling("openai/gpt-4o"), supports_function_calling("nope/x")
        (True, False)
    """
    return _supports(model, custom_llm_provider, "supports_function_calling")


def supports_vision(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the catalog says the model takes images.

    Example:
        >>> supports_vision("openai/gpt-4o")
        True
    """
    return _supports(model, custom_llm_provider, "supports_vision")


def supports_response_schema(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the catalog says the model takes a JSON Schema `response_format`.

    Example:
        >>> supports_response_schema("openai/gpt-4o")
        True
    """
    return _supports(model, custom_llm_provider, "supports_response_schema")


def supports_audio_input(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the catalog says the model takes audio.

    Example:
        >>> supports_audio_input("gpt-4o-mini")
        False
    """
    return _supports(model, custom_llm_provider, "supports_audio_input")


def supports_audio_output(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the catalog says the model speaks.

    Example:
        >>> supports_audio_output("gpt-4o-mini")
        False
    """
    return _supports(model, custom_llm_provider, "supports_audio_output")


def supports_parallel_function_calling(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the model may call several tools at once (those that take tools).

    Example:
        >>> supports_parallel_function_calling("gpt-4o")
        True
    """
    return _supports(model, custom_llm_provider, "supports_parallel_function_calling")


def supports_tool_choice(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the model takes `tool_choice` (those that take tools).

    Example:
        >>> supports_tool_choice("gpt-4o")
        True
    """
    return _supports(model, custom_llm_provider, "supports_tool_choice")


def supports_prompt_caching(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the catalog has a cached-input price for the model.

    Example:
        >>> supports_prompt_caching("gpt-4o")
        True
    """
    return _supports(model, custom_llm_provider, "supports_prompt_caching")


def supports_system_messages(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the model takes system messages (every chat model the catalog lists).

    Example:
        >>> supports_system_messages("gpt-4o")
        True
    """
    return _supports(model, custom_llm_provider, "supports_system_messages")
