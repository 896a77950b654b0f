"""Conduit's data model: messages, content blocks, responses, usage, tools, options, events.

Example:
    >>> from conduit.schema import user, system
    >>> [m.role for m in (system("Be brief."), user("Hi"))]
    ['system', 'user']
"""

from conduit.schema.assemble import ResponseAssembler, events_from_response
from conduit.schema.content import AudioBlock, ContentBlock, ImageBlock, TextBlock
from conduit.schema.embeddings import Embeddings
from conduit.schema.events import Done, StreamEvent, TextDelta, ToolCallDelta, UsageEvent
from conduit.schema.media import ImageOptions, MediaResponse, SpeechOptions
from conduit.schema.messages import (
    Message,
    MessagesInput,
    Role,
    assistant,
    normalize_messages,
    system,
    tool_result,
    user,
)
from conduit.schema.options import ChatOptions, ResponseFormat, ToolChoice
from conduit.schema.responses import Prices, Response, StopReason, Usage
from conduit.schema.tools import FunctionCall, Tool, ToolCall

__all__ = [
    "AudioBlock",
    "ChatOptions",
    "ContentBlock",
    "Done",
    "Embeddings",
    "FunctionCall",
    "ImageBlock",
    "ImageOptions",
    "MediaResponse",
    "Message",
    "MessagesInput",
    "Prices",
    "Response",
    "ResponseAssembler",
    "ResponseFormat",
    "Role",
    "SpeechOptions",
    "StopReason",
    "StreamEvent",
    "TextBlock",
    "TextDelta",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolChoice",
    "Usage",
    "UsageEvent",
    "assistant",
    "events_from_response",
    "normalize_messages",
    "system",
    "tool_result",
    "user",
]
