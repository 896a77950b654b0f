"""Conduit: every large language model behind one small, typed, async-first interface.

Example:
    >>> import conduit
    >>> conduit.chat_sync("fake/echo", "Hello").text
    'Hello'

Names are loaded on first use (module `__getattr__`), so `import conduit` stays light:
no aiohttp, no provider code until you ask for a model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # top-level functions
    "chat": "conduit.api",
    "chat_sync": "conduit.api",
    "embed": "conduit.api",
    "embed_sync": "conduit.api",
    "embedder": "conduit.api",
    "model": "conduit.api",
    "stream": "conduit.api",
    "stream_sync": "conduit.api",
    # protocols
    "BaseChatModel": "conduit.core.protocols",
    "BaseEmbedder": "conduit.core.protocols",
    "Capabilities": "conduit.core.protocols",
    "ChatModel": "conduit.core.protocols",
    "Embedder": "conduit.core.protocols",
    "ModelInfo": "conduit.core.protocols",
    # data model
    "AudioBlock": "conduit.schema",
    "ChatOptions": "conduit.schema",
    "Done": "conduit.schema",
    "Embeddings": "conduit.schema",
    "FunctionCall": "conduit.schema",
    "ImageBlock": "conduit.schema",
    "Message": "conduit.schema",
    "Response": "conduit.schema",
    "ResponseFormat": "conduit.schema",
    "StreamEvent": "conduit.schema",
    "TextBlock": "conduit.schema",
    "TextDelta": "conduit.schema",
    "Tool": "conduit.schema",
    "ToolCall": "conduit.schema",
    "ToolCallDelta": "conduit.schema",
    "Usage": "conduit.schema",
    "UsageEvent": "conduit.schema",
    "assistant": "conduit.schema",
    "system": "conduit.schema",
    "tool_result": "conduit.schema",
    "user": "conduit.schema",
    # catalog
    "cost_of": "conduit.catalog.registry",
    "count_tokens": "conduit.api",
    "model_info": "conduit.api",
    "models": "conduit.catalog.registry",
    "validate_model": "conduit.api",
    "tokenize": "conduit.api",
    "RetryPolicy": "conduit.core",
    "Timeout": "conduit.core",
    "Prices": "conduit.schema",
    "Router": "conduit.routing",
    "FallbackModel": "conduit.routing",
    "Deployment": "conduit.routing",
    # tools and agents
    "AgentResult": "conduit.agent",
    "FunctionTool": "conduit.tools",
    "execute_tool_calls": "conduit.tools",
    "make_agent": "conduit.agent",
    "stateful_agent": "conduit.agent",
    "stream_tool_loop": "conduit.agent",
    "tool": "conduit.tools",
    "tool_loop": "conduit.agent",
    "tool_loop_sync": "conduit.agent",
    # structured output and prompts
    "Parser": "conduit.structured",
    "StructuredOutputError": "conduit.structured",
    "classify": "conduit.structured",
    "extract": "conduit.structured",
    "with_structured_output": "conduit.structured",
    "Prompt": "conduit.prompts",
    "PromptLoader": "conduit.prompts",
    # memory and usage
    "Messages": "conduit.memory",
    "Odometer": "conduit.odometer",
    "TokenEvent": "conduit.odometer",
    # errors
    "ConduitError": "conduit.errors",
    "Model": "conduit.framework",
    "ModelAsync": "conduit.framework",
    "SyncConduit": "conduit.framework",
    "AsyncConduit": "conduit.framework",
    "Request": "conduit.framework",
    "MessageStore": "conduit.framework",
    "TextMessage": "conduit.media.messages",
    "OdometerRegistry": "conduit.odometer",
    "BatchItemError": "conduit.batch",
    "BatchResult": "conduit.batch",
    "Pipeline": "conduit.batch",
    "Verbosity": "conduit.batch",
    "run_batch": "conduit.batch",
    "run_batch_sync": "conduit.batch",
    "ImageMessage": "conduit.media",
    "AudioMessage": "conduit.media",
    "generate_image": "conduit.media",
    "generate_image_sync": "conduit.media",
    "speak": "conduit.media",
    "speak_sync": "conduit.media",
    "MediaResponse": "conduit.schema",
    # fakes
    "FunctionModel": "conduit.providers.fake",
    "MockModel": "conduit.providers.fake",
}

# A literal list (not computed) so linters and type checkers see the public names.
__all__ = [
    "AgentResult",
    "AsyncConduit",
    "AudioBlock",
    "AudioMessage",
    "BaseChatModel",
    "BaseEmbedder",
    "BatchItemError",
    "BatchResult",
    "Capabilities",
    "ChatModel",
    "ChatOptions",
    "ConduitError",
    "Deployment",
    "Done",
    "Embedder",
    "Embeddings",
    "FallbackModel",
    "FunctionCall",
    "FunctionModel",
    "FunctionTool",
    "ImageBlock",
    "ImageMessage",
    "MediaResponse",
    "Message",
    "MessageStore",
    "Messages",
    "MockModel",
    "Model",
    "ModelAsync",
    "ModelInfo",
    "Odometer",
    "OdometerRegistry",
    "Parser",
    "Pipeline",
    "Prices",
    "Prompt",
    "PromptLoader",
    "Request",
    "Response",
    "ResponseFormat",
    "RetryPolicy",
    "Router",
    "StreamEvent",
    "StructuredOutputError",
    "SyncConduit",
    "TextBlock",
    "TextDelta",
    "TextMessage",
    "Timeout",
    "TokenEvent",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "UsageEvent",
    "Verbosity",
    "__version__",
    "assistant",
    "chat",
    "chat_sync",
    "classify",
    "cost_of",
    "count_tokens",
    "embed",
    "embed_sync",
    "embedder",
    "execute_tool_calls",
    "extract",
    "generate_image",
    "generate_image_sync",
    "make_agent",
    "model",
    "model_info",
    "models",
    "run_batch",
    "run_batch_sync",
    "speak",
    "speak_sync",
    "stateful_agent",
    "stream",
    "stream_sync",
    "stream_tool_loop",
    "system",
    "tokenize",
    "tool",
    "tool_loop",
    "tool_loop_sync",
    "tool_result",
    "user",
    "validate_model",
    "with_structured_output",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'conduit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from conduit.agent import (
        AgentResult,
        make_agent,
        stateful_agent,
        stream_tool_loop,
        tool_loop,
        tool_loop_sync,
    )
    from conduit.api import (
        chat,
        chat_sync,
        count_tokens,
        embed,
        embed_sync,
        embedder,
        model,
        model_info,
        stream,
        stream_sync,
        tokenize,
        validate_model,
    )
    from conduit.batch import (
        BatchItemError,
        BatchResult,
        Pipeline,
        Verbosity,
        run_batch,
        run_batch_sync,
    )
    from conduit.catalog.registry import cost_of, models
    from conduit.core.policy import RetryPolicy, Timeout
    from conduit.core.protocols import (
        BaseChatModel,
        BaseEmbedder,
        Capabilities,
        ChatModel,
        Embedder,
        ModelInfo,
    )
    from conduit.errors import ConduitError
    from conduit.framework import (
        AsyncConduit,
        MessageStore,
        Model,
        ModelAsync,
        Request,
        SyncConduit,
    )
    from conduit.media import (
        AudioMessage,
        ImageMessage,
        generate_image,
        generate_image_sync,
        speak,
        speak_sync,
    )
    from conduit.media.messages import TextMessage
    from conduit.memory import Messages
    from conduit.odometer import Odometer, OdometerRegistry, TokenEvent
    from conduit.prompts import Prompt, PromptLoader
    from conduit.providers.fake import FunctionModel, MockModel
    from conduit.routing import Deployment, FallbackModel, Router
    from conduit.schema import (
        AudioBlock,
        ChatOptions,
        Done,
        Embeddings,
        FunctionCall,
        ImageBlock,
        MediaResponse,
        Message,
        Prices,
        Response,
        ResponseFormat,
        StreamEvent,
        TextBlock,
        TextDelta,
        Tool,
        ToolCall,
        ToolCallDelta,
        Usage,
        UsageEvent,
        assistant,
        system,
        tool_result,
        user,
    )
    from conduit.structured import (
        Parser,
        StructuredOutputError,
        classify,
        extract,
        with_structured_output,
    )
    from conduit.tools import FunctionTool, execute_tool_calls, tool
