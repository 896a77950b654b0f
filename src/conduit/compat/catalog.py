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
from conduit.catalog import CatalogEntry, find_model
from conduit.compat.chat import resolve_model, to_messages
from conduit.compat.exceptions import NotFoundError
from conduit.errors import ConduitError, ValidationError
from conduit.schema import Usage

__all__ = [
    "completion_cost",
    "cost_per_token",
    "get_model_info",
    "supports_function_calling",
    "supports_response_schema",
    "supports_vision",
    "token_counter",
]


def _entry(model: str) -> CatalogEntry | None:
    try:
        return find_model(resolve_model(model))
    except ValidationError:
        return None


def _priced(model: str) -> CatalogEntry:
    entry = _entry(model)
    if entry is None or (entry.input_price is None and entry.output_price is None):
        raise NotFoundError(
            f"This model isn't mapped yet: no prices for {model!r} in Conduit's catalog "
            "(add it to $CONDUIT_CACHE_DIR/models.toml or run `conduit models update`)",
            model=model,
        )
    return entry


def cost_per_token(
    model: str = "", prompt_tokens: int = 0, completion_tokens: int = 0, **_: Any
) -> tuple[float, float]:
    """(USD for the prompt tokens, USD for the completion tokens).

    Example:
        >>> cost_per_token("openai/gpt-4o-mini", prompt_tokens=1_000_000, completion_tokens=0)
        (0.15, 0.0)
    """
    entry = _priced(model)
    return (
        prompt_tokens * (entry.input_price or 0.0) / 1_000_000,
        completion_tokens * (entry.output_price or 0.0) / 1_000_000,
    )


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
    cost = _priced(name).cost(conduit_usage)
    return float(cost or 0.0)


def token_counter(model: str = "", text: str | None = None, messages: Any = None, **_: Any) -> int:
    """Tokens in `text` or `messages` for `model` (exact for OpenAI models, an estimate
    with a GPT tokenizer otherwise, as LiteLLM does).

    Example:
        >>> token_counter(model="openai/gpt-4o", text="hello world")
        2
    """
    try:
        ref = resolve_model(model) if model else "unknown/model"
    except ValidationError:
        ref = f"unknown/{model}"
    content: Any = to_messages(messages) if messages is not None else (text or "")
    return count_tokens(ref, content)


def get_model_info(model: str, custom_llm_provider: str | None = None) -> dict[str, Any]:
    """Limits, prices (USD per token) and capabilities in LiteLLM's keys.

    Example:
        >>> info = get_model_info("openai/gpt-4o-mini")
        >>> info["litellm_provider"], info["mode"], info["supports_vision"]
        ('openai', 'chat', True)
    """
    try:
        entry = find_model(resolve_model(model, custom_llm_provider))
    except ValidationError:
        entry = None
    if entry is None:
        raise NotFoundError(
            f"This model isn't mapped yet. model={model}, custom_llm_provider="
            f"{custom_llm_provider}. Add it to Conduit's catalog.",
            model=model,
        )

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
        entry = find_model(resolve_model(model, custom_llm_provider))
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
