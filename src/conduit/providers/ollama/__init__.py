"""The Ollama adapter: Ollama's native API, `/api/chat` (NDJSON streaming, tools,
images, structured output) and `/api/embed`.

`conduit.model("ollama/llama3.2")` builds an `OllamaChatModel` for the Ollama at
`OLLAMA_HOST` (default http://127.0.0.1:11434); `OLLAMA_API_KEY`, when set, is sent as
a bearer token (ollama.com, or a proxy in front of Ollama).

Example:
    >>> from conduit.providers.ollama import OllamaChatModel
    >>> OllamaChatModel("llama3.2").model_info.ref
    'ollama/llama3.2'
"""

from conduit.providers.ollama.connection import OllamaConnectionOptions, ollama_base_url
from conduit.providers.ollama.model import OllamaChatModel, OllamaEmbedder
from conduit.providers.ollama.request import build_chat_payload, message_to_wire, tool_to_wire
from conduit.providers.ollama.response import parse_chat_response
from conduit.providers.ollama.stream import StreamAssembler

__all__ = [
    "OllamaChatModel",
    "OllamaConnectionOptions",
    "OllamaEmbedder",
    "StreamAssembler",
    "build_chat_payload",
    "message_to_wire",
    "ollama_base_url",
    "parse_chat_response",
    "tool_to_wire",
]
