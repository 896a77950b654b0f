"""`litellm.types.utils`: LiteLLM's response objects and the names users import from
this module (`ModelResponse`, `Message`, `Usage`, `Choices`, `Delta`, `StreamingChoices`,
`ChatCompletionDeltaToolCall`, `CallTypes`, `StandardLoggingPayload`, ...).

Example:
    >>> from conduit.compat.types.utils import CallTypes, Message
    >>> CallTypes.completion.value, Message(content="hi").role
    ('completion', 'assistant')
"""

from __future__ import annotations

import enum
from typing import Any, TypedDict

from conduit.compat.responses import (
    ChatCompletionDeltaToolCall,
    ChatCompletionMessageToolCall,
    Choices,
    Delta,
    Embedding,
    EmbeddingResponse,
    Function,
    Message,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
    TextChoices,
    TextCompletionResponse,
    Usage,
)

__all__ = [
    "CallTypes",
    "ChatCompletionDeltaToolCall",
    "ChatCompletionMessageToolCall",
    "Choices",
    "Delta",
    "Embedding",
    "EmbeddingResponse",
    "Function",
    "GenericStreamingChunk",
    "LlmProviders",
    "Message",
    "ModelInfo",
    "ModelResponse",
    "ModelResponseStream",
    "StandardLoggingPayload",
    "StreamingChoices",
    "TextChoices",
    "TextCompletionResponse",
    "Usage",
]


class CallTypes(enum.StrEnum):
    """The kinds of call callbacks are told about (`kwargs["call_type"]`)."""

    completion = "completion"
    acompletion = "acompletion"
    embedding = "embedding"
    aembedding = "aembedding"
    text_completion = "text_completion"
    atext_completion = "atext_completion"


class LlmProviders(enum.StrEnum):
    """LiteLLM's provider names that Conduit calls."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"
    VERTEX_AI = "vertex_ai"
    BEDROCK = "bedrock"
    AZURE = "azure"
    GROQ = "groq"
    XAI = "xai"
    MISTRAL = "mistral"
    DEEPSEEK = "deepseek"
    TOGETHER_AI = "together_ai"
    OPENROUTER = "openrouter"
    PERPLEXITY = "perplexity"
    OLLAMA = "ollama"


class ModelInfo(TypedDict, total=False):
    """`get_model_info()`'s answer."""

    key: str
    max_tokens: int | None
    max_input_tokens: int | None
    max_output_tokens: int | None
    input_cost_per_token: float
    output_cost_per_token: float
    litellm_provider: str
    mode: str
    supports_function_calling: bool
    supports_vision: bool


class StandardLoggingPayload(TypedDict, total=False):
    """The summary of a call callbacks get as `kwargs["standard_logging_object"]`."""

    id: str
    call_type: str
    response_cost: float | None
    status: str
    model: str
    model_group: str | None
    custom_llm_provider: str | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    startTime: float
    endTime: float
    metadata: dict[str, Any]
    messages: Any
    response: Any
    error_str: str | None


class GenericStreamingChunk(TypedDict, total=False):
    """A provider-neutral stream chunk (custom handlers)."""

    text: str
    is_finished: bool
    finish_reason: str
    usage: dict[str, int] | None
    index: int
