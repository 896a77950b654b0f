"""The OpenAI adapter: Chat Completions, streaming, tools, vision, JSON output, embeddings.

Serves OpenAI itself and any OpenAI-compatible server through `base_url=`.

Example:
    >>> from conduit.providers.openai import OpenAIChatModel
    >>> OpenAIChatModel("llama", base_url="http://127.0.0.1:8080/v1").model_info.name
    'llama'
"""

from conduit.providers.openai.connection import ConnectionOptions
from conduit.providers.openai.model import OpenAIChatModel, OpenAIEmbedder
from conduit.providers.openai.request import build_chat_payload, message_to_wire, tool_to_wire
from conduit.providers.openai.response import parse_chat_response
from conduit.providers.openai.stream import ChunkAssembler

__all__ = [
    "ChunkAssembler",
    "ConnectionOptions",
    "OpenAIChatModel",
    "OpenAIEmbedder",
    "build_chat_payload",
    "message_to_wire",
    "parse_chat_response",
    "tool_to_wire",
]
