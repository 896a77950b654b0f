"""The Gemini adapter: Google's Gemini API (generateContent, streaming, tools, vision,
audio, JSON output, embeddings).

`conduit.model("gemini/gemini-2.5-flash")` and `conduit.embedder("gemini/text-embedding-004")`
build these classes; the key comes from `GEMINI_API_KEY` (or `api_key=`).

Example:
    >>> from conduit.providers.gemini import GeminiChatModel
    >>> GeminiChatModel("gemini-2.5-flash", api_key="test-key").model_info.name
    'gemini-2.5-flash'
"""

from conduit.providers.gemini.calls import CallMemory
from conduit.providers.gemini.connection import GeminiOptions
from conduit.providers.gemini.model import GeminiChatModel, GeminiEmbedder
from conduit.providers.gemini.request import build_generate_payload, tool_to_wire
from conduit.providers.gemini.response import parse_generate_response
from conduit.providers.gemini.schema import to_gemini_schema
from conduit.providers.gemini.stream import StreamAssembler

__all__ = [
    "CallMemory",
    "GeminiChatModel",
    "GeminiEmbedder",
    "GeminiOptions",
    "StreamAssembler",
    "build_generate_payload",
    "parse_generate_response",
    "to_gemini_schema",
    "tool_to_wire",
]
