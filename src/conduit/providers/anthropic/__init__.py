"""The Anthropic adapter: the Messages API with system prompts, vision, tools, JSON output,
prompt caching and streaming.

`conduit.model("anthropic/claude-sonnet-4-5")` builds an `AnthropicChatModel` with the key
from `ANTHROPIC_API_KEY`. See docs/providers/anthropic.md.

Example:
    >>> from conduit.providers.anthropic import AnthropicChatModel
    >>> AnthropicChatModel("claude-sonnet-4-5", api_key="sk-ant-test").model_info.name
    'claude-sonnet-4-5'
"""

from conduit.providers.anthropic.model import (
    ANTHROPIC_VERSION,
    AnthropicChatModel,
    AnthropicConnectionOptions,
)
from conduit.providers.anthropic.request import (
    DEFAULT_MAX_TOKENS,
    JSONOutput,
    build_messages_payload,
    json_output,
    messages_to_wire,
    tool_choice_to_wire,
    tool_to_wire,
)
from conduit.providers.anthropic.response import parse_message_response, parse_usage
from conduit.providers.anthropic.stream import StreamAssembler

__all__ = [
    "ANTHROPIC_VERSION",
    "AnthropicChatModel",
    "AnthropicConnectionOptions",
    "DEFAULT_MAX_TOKENS",
    "JSONOutput",
    "StreamAssembler",
    "build_messages_payload",
    "json_output",
    "messages_to_wire",
    "parse_message_response",
    "parse_usage",
    "tool_choice_to_wire",
    "tool_to_wire",
]
