"""`litellm.utils`: the helpers users import from this module, at LiteLLM's path
(they live in `conduit.compat.catalog`, `.responses`, `.main`).

Example:
    >>> from conduit.compat.utils import get_llm_provider, ModelResponse
    >>> get_llm_provider("gpt-4o-mini")[1], ModelResponse().object
    ('openai', 'chat.completion')
"""

from conduit.compat.catalog import (
    completion_cost,
    cost_per_token,
    decode,
    encode,
    get_llm_provider,
    get_max_tokens,
    get_model_cost_map,
    get_model_info,
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
from conduit.compat.deployments import calculate_max_parallel_requests
from conduit.compat.responses import (
    ChatCompletionMessageToolCall,
    Choices,
    Delta,
    EmbeddingResponse,
    Message,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
    TextCompletionResponse,
    Usage,
    stream_chunk_builder,
)
from conduit.compat.stream import CustomStreamWrapper

__all__ = [
    "ChatCompletionMessageToolCall",
    "Choices",
    "CustomStreamWrapper",
    "Delta",
    "EmbeddingResponse",
    "Message",
    "ModelResponse",
    "ModelResponseStream",
    "StreamingChoices",
    "TextCompletionResponse",
    "Usage",
    "calculate_max_parallel_requests",
    "completion_cost",
    "cost_per_token",
    "decode",
    "encode",
    "get_llm_provider",
    "get_max_tokens",
    "get_model_cost_map",
    "get_model_info",
    "register_model",
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
    "token_counter",
]
