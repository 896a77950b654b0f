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

from typing import Any

from conduit.api import count_tokens
from conduit.catalog import find_model, response_cost, tokens
from conduit.compat.chat import resolve_model, to_messages
from conduit.compat.exceptions import ModelNotMappedError, provider_not_provided
from conduit.errors import ConduitError, NotFoundError, ValidationError
from conduit.schema import Response, Usage

__all__ = [
    "completion_cost",
    "cost_per_token",
    "get_model_info",
    "supports_function_calling",
    "supports_response_schema",
    "supports_vision",
    "token_counter",
]


def _not_mapped(model: str, provider: str | None = None) -> ModelNotMappedError:
    return ModelNotMappedError(
        f"This model isn't mapped yet. model={model}, custom_llm_provider={provider}. "
        "Add it to Conduit's catalog ($CONDUIT_CACHE_DIR/models.toml, or run "
        "`conduit models update`).",
        model=model,
    )


def _ref(model: str, custom_llm_provider: str | None = None) -> str:
    """The one resolver's reference for a chat model's name, else an embedding model's."""
    try:
        return resolve_model(model, custom_llm_provider)
    except ConduitError:
        return resolve_model(model, custom_llm_provider, "embed")


def _priced(model: str) -> str:
    """The reference of a model the catalog has prices for. A model LiteLLM cannot
    place is its `BadRequestError` (as in `completion()`); a placed one the catalog has
    no prices for is `ModelNotMappedError`."""
    try:
        ref = _ref(model)
    except (NotFoundError, ValidationError) as exc:
        raise provider_not_provided(model, exc) from exc
    entry = find_model(ref)
    if entry is None or (entry.input_price is None and entry.output_price is None):
        raise _not_mapped(model)
    return ref


def cost_per_token(
    model: str = "", prompt_tokens: int = 0, completion_tokens: int = 0, **_: Any
) -> tuple[float, float]:
    """(USD for the prompt tokens, USD for the completion tokens).

    Example:
        >>> cost_per_token("openai/gpt-4o-mini", prompt_tokens=1_000_000, completion_tokens=0)
        (0.15, 0.0)
    """
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
    ref = _priced(name)
    cost = response_cost(Response(usage=conduit_usage), ref)  # the one cost function
    return float(cost or 0.0)


def token_counter(model: str = "", text: str | None = None, messages: Any = None, **_: Any) -> int:
    """Tokens in `text` or `messages` for `model` (exact for OpenAI models, an estimate
    with a GPT tokenizer otherwise, as LiteLLM does).

    Example:
        >>> token_counter(model="openai/gpt-4o", text="hello world")
        2
    """
    content: Any = to_messages(messages) if messages is not None else (text or "")
    try:
        ref = resolve_model(model) if model else None
    except ConduitError:
        ref = None
    if ref is None:  # a model the catalog does not know: a GPT tokenizer's estimate
        return tokens.count_tokens("unknown/model", content)
    return count_tokens(ref, content)


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
        raise _not_mapped(model, custom_llm_provider)

    def per_token(price: float | None) -> float | None:
        return None if price is None else price / 1_000_000

    caps = entry.capabilities
    return {
        "key": entry.name,
        "max_tokens": entry.max_output_tokens,
        "max_input_tokens": entry.context_window,
        "max_output_tokens": entry.max_output_tokens,
        "input_cost_per_token": per_token(entry.input_price),
        "output_cost_per_token": per_token(entry.output_price),
        "cache_read_input_token_cost": per_token(entry.cached_input_price),
        "cache_creation_input_token_cost": per_token(entry.cache_write_price),
        "litellm_provider": entry.provider,
        "mode": "embedding" if entry.kind == "embedding" else "chat",
        "supports_function_calling": caps.tools,
        "supports_tool_choice": caps.tools,
        "supports_vision": caps.vision,
        "supports_audio_input": caps.audio,
        "supports_response_schema": caps.json_schema,
        "supports_system_messages": True,
    }


def _supports(model: str, custom_llm_provider: str | None, name: str) -> bool:
    try:
        entry = find_model(_ref(model, custom_llm_provider))
    except ConduitError:  # an unknown model or provider: LiteLLM answers False too
        return False
    return bool(entry is not None and getattr(entry.capabilities, name))


def supports_function_calling(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the catalog says the model takes tools (False for a model it does not list).

    Example:
        >>> supports_function_calling("openai/gpt-4o"), supports_function_calling("nope/x")
        (True, False)
    """
    return _supports(model, custom_llm_provider, "tools")


def supports_vision(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the catalog says the model takes images.

    Example:
        >>> supports_vision("openai/gpt-4o")
        True
    """
    return _supports(model, custom_llm_provider, "vision")


def supports_response_schema(model: str, custom_llm_provider: str | None = None) -> bool:
    """Whether the catalog says the model takes a JSON Schema `response_format`.

    Example:
        >>> supports_response_schema("openai/gpt-4o")
        True
    """
    return _supports(model, custom_llm_provider, "json_schema")
