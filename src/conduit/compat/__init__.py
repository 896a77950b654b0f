"""The LiteLLM-compatible surface: switch by changing one import.

    import conduit.compat as litellm

    response = litellm.completion(model="openai/gpt-4o-mini",
                                  messages=[{"role": "user", "content": "Hi"}])
    print(response.choices[0].message.content)

`completion`/`acompletion` (streaming too), `embedding`/`aembedding`,
`stream_chunk_builder`, `completion_cost`, `token_counter`, `get_model_info`,
`supports_function_calling`, exceptions with LiteLLM's names that are also Conduit
errors, module-level settings (`api_key`, `openai_key`, `anthropic_key`, `api_base`,
`num_retries`, `request_timeout`, `drop_params`, `success_callback`,
`failure_callback`, `callbacks`, `max_budget`, `budgets`; see `conduit.compat.config`),
`Router`, `Budgets` and `CustomLogger`. Everything loads on first use.

A face only translates: LiteLLM's names and objects in, core calls, LiteLLM's objects
out. Models come from the one resolver and cache (`conduit.api`), retries and timeouts
are the one `RetryPolicy` and `Timeout`, `Router` and `fallbacks` are the core
`conduit.routing.Router`, budgets are the core `Budget` interceptor over
`conduit.storage.spend`, and costs are `conduit.catalog.response_cost`. What is LiteLLM's
alone stays here: its objects, its error classes, its callbacks and its module settings.

Example:
    >>> import conduit.compat as litellm
    >>> litellm.completion(model="fake/echo", messages=[{"role": "user", "content": "Hi"}]
    ...                    ).choices[0].message.content
    'Hi'
    >>> litellm.drop_params = True; litellm.config.drop_params
    True
    >>> litellm.drop_params = False
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType as _ModuleType
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "acompletion": "conduit.compat.chat",
    "completion": "conduit.compat.chat",
    "CustomStreamWrapper": "conduit.compat.chat",
    "aembedding": "conduit.compat.embeddings",
    "embedding": "conduit.compat.embeddings",
    "completion_cost": "conduit.compat.catalog",
    "cost_per_token": "conduit.compat.catalog",
    "get_model_info": "conduit.compat.catalog",
    "get_model_cost_map": "conduit.compat.catalog",
    "supports_function_calling": "conduit.compat.catalog",
    "supports_response_schema": "conduit.compat.catalog",
    "supports_vision": "conduit.compat.catalog",
    "token_counter": "conduit.compat.catalog",
    "ChatCompletionMessageToolCall": "conduit.compat.responses",
    "Choices": "conduit.compat.responses",
    "Delta": "conduit.compat.responses",
    "EmbeddingResponse": "conduit.compat.responses",
    "Function": "conduit.compat.responses",
    "Message": "conduit.compat.responses",
    "ModelResponse": "conduit.compat.responses",
    "ModelResponseStream": "conduit.compat.responses",
    "StreamingChoices": "conduit.compat.responses",
    "Usage": "conduit.compat.responses",
    "stream_chunk_builder": "conduit.compat.responses",
    "APIConnectionError": "conduit.compat.exceptions",
    "APIError": "conduit.compat.exceptions",
    "AuthenticationError": "conduit.compat.exceptions",
    "BadGatewayError": "conduit.compat.exceptions",
    "BadRequestError": "conduit.compat.exceptions",
    "BudgetExceededError": "conduit.compat.exceptions",
    "ContentPolicyViolationError": "conduit.compat.exceptions",
    "ContextWindowExceededError": "conduit.compat.exceptions",
    "InternalServerError": "conduit.compat.exceptions",
    "ModelNotMappedError": "conduit.compat.exceptions",
    "NotFoundError": "conduit.compat.exceptions",
    "PermissionDeniedError": "conduit.compat.exceptions",
    "RateLimitError": "conduit.compat.exceptions",
    "ServiceUnavailableError": "conduit.compat.exceptions",
    "Timeout": "conduit.compat.exceptions",
    "UnprocessableEntityError": "conduit.compat.exceptions",
    "UnsupportedParamsError": "conduit.compat.exceptions",
    "Budgets": "conduit.compat.budgeting",
    "CustomLogger": "conduit.compat.custom_logger",
    "Router": "conduit.compat.router",
    "mock_completion": "conduit.compat.main",
    "completion_with_retries": "conduit.compat.main",
    "acompletion_with_retries": "conduit.compat.main",
    "text_completion": "conduit.compat.main",
    "atext_completion": "conduit.compat.main",
    "batch_completion": "conduit.compat.main",
    "abatch_completion": "conduit.compat.main",
    "decode": "conduit.compat.catalog",
    "encode": "conduit.compat.catalog",
    "get_llm_provider": "conduit.compat.catalog",
    "get_max_tokens": "conduit.compat.catalog",
    "model_cost": "conduit.compat.catalog",
    "register_model": "conduit.compat.catalog",
    "supports_audio_input": "conduit.compat.catalog",
    "supports_audio_output": "conduit.compat.catalog",
    "supports_parallel_function_calling": "conduit.compat.catalog",
    "supports_prompt_caching": "conduit.compat.catalog",
    "supports_system_messages": "conduit.compat.catalog",
    "supports_tool_choice": "conduit.compat.catalog",
    "TextChoices": "conduit.compat.responses",
    "TextCompletionResponse": "conduit.compat.responses",
    "APIResponseValidationError": "conduit.compat.exceptions",
    "MockException": "conduit.compat.exceptions",
    "OpenAIError": "conduit.compat.exceptions",
    "Cache": "conduit.compat.caching.caching",
    "BudgetManager": "conduit.compat.budget_manager",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "BudgetExceededError",
    "BudgetManager",
    "Budgets",
    "Cache",
    "ChatCompletionMessageToolCall",
    "Choices",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "CustomLogger",
    "CustomStreamWrapper",
    "Delta",
    "EmbeddingResponse",
    "Function",
    "InternalServerError",
    "Message",
    "MockException",
    "ModelNotMappedError",
    "ModelResponse",
    "ModelResponseStream",
    "NotFoundError",
    "OpenAIError",
    "PermissionDeniedError",
    "RateLimitError",
    "Router",
    "ServiceUnavailableError",
    "StreamingChoices",
    "TextChoices",
    "TextCompletionResponse",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedParamsError",
    "Usage",
    "abatch_completion",
    "acompletion",
    "acompletion_with_retries",
    "aembedding",
    "atext_completion",
    "batch_completion",
    "completion",
    "completion_cost",
    "completion_with_retries",
    "cost_per_token",
    "decode",
    "embedding",
    "encode",
    "get_llm_provider",
    "get_max_tokens",
    "get_model_cost_map",
    "get_model_info",
    "mock_completion",
    "model_cost",
    "register_model",
    "set_verbose",
    "stream_chunk_builder",
    "supports_audio_input",
    "supports_audio_output",
    "supports_function_calling",
    "supports_parallel_function_calling",
    "supports_prompt_caching",
    "supports_response_schema",
    "supports_system_messages",
    "supports_tool_choice",
    "supports_vision",
    "text_completion",
    "token_counter",
]

from conduit.compat import config  # noqa: E402  (the settings; small, no imports)


def __getattr__(name: str) -> Any:
    if name in config.SETTINGS:
        return getattr(config, name)  # read through, so `litellm.success_callback.append` works
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'conduit.compat' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *config.SETTINGS})


class _CompatModule(_ModuleType):
    """Setting `conduit.compat.api_key = ...` sets `conduit.compat.config.api_key`."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in config.SETTINGS and not isinstance(value, _ModuleType):
            setattr(config, name, value)
        else:
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _CompatModule

set_verbose: bool = False
"""LiteLLM's debug switch: accepted; Conduit logs through `logging` (logger
`conduit.compat`) instead."""

if TYPE_CHECKING:
    from conduit.compat.budget_manager import BudgetManager
    from conduit.compat.budgeting import Budgets
    from conduit.compat.caching.caching import Cache
    from conduit.compat.catalog import (
        completion_cost,
        cost_per_token,
        decode,
        encode,
        get_llm_provider,
        get_max_tokens,
        get_model_cost_map,
        get_model_info,
        model_cost,
        register_model,
        supports_audio_input,
        supports_audio_output,
        supports_function_calling,
        supports_parallel_function_calling,
        supports_prompt_caching,
        supports_response_schema,
        supports_system_messages,
        supports_tool_choice,
        supports_vision,
        token_counter,
    )
    from conduit.compat.chat import CustomStreamWrapper, acompletion, completion
    from conduit.compat.custom_logger import CustomLogger
    from conduit.compat.embeddings import aembedding, embedding
    from conduit.compat.exceptions import (
        APIConnectionError,
        APIError,
        APIResponseValidationError,
        AuthenticationError,
        BadGatewayError,
        BadRequestError,
        BudgetExceededError,
        ContentPolicyViolationError,
        ContextWindowExceededError,
        InternalServerError,
        MockException,
        ModelNotMappedError,
        NotFoundError,
        OpenAIError,
        PermissionDeniedError,
        RateLimitError,
        ServiceUnavailableError,
        Timeout,
        UnprocessableEntityError,
        UnsupportedParamsError,
    )
    from conduit.compat.main import (
        abatch_completion,
        acompletion_with_retries,
        atext_completion,
        batch_completion,
        completion_with_retries,
        mock_completion,
        text_completion,
    )
    from conduit.compat.responses import (
        ChatCompletionMessageToolCall,
        Choices,
        Delta,
        EmbeddingResponse,
        Function,
        Message,
        ModelResponse,
        ModelResponseStream,
        StreamingChoices,
        TextChoices,
        TextCompletionResponse,
        Usage,
        stream_chunk_builder,
    )
    from conduit.compat.router import Router
