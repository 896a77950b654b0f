"""Google Vertex AI: Gemini (`"vertex/<model>"`) and Claude (`"vertex-anthropic/<model>"`)
with project, location and OAuth tokens from Application Default Credentials
(`vertex` extra).

Example:
    >>> from conduit.providers.vertex import vertex_base_url
    >>> vertex_base_url("p-1", "europe-west4")
    'https://europe-west4-aiplatform.googleapis.com/v1/projects/p-1/locations/europe-west4'
"""

from conduit.providers.vertex.auth import GoogleTokenSource, vertex_base_url
from conduit.providers.vertex.model import (
    ANTHROPIC_VERTEX_VERSION,
    VertexAnthropicChatModel,
    VertexGeminiChatModel,
    VertexOptions,
)

__all__ = [
    "ANTHROPIC_VERTEX_VERSION",
    "GoogleTokenSource",
    "VertexAnthropicChatModel",
    "VertexGeminiChatModel",
    "VertexOptions",
    "vertex_base_url",
]
