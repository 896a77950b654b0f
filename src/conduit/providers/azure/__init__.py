"""Azure OpenAI: `"azure/<deployment>"`, the deployments and `/openai/v1/` URL shapes,
an `api-key` or Microsoft Entra ID token, content-filter results as `ContentFilterError`.

Example:
    >>> from conduit.providers.azure import AzureOpenAIChatModel
    >>> AzureOpenAIChatModel("gpt4o", api_key="k-1", api_version="v1",
    ...     azure_endpoint="https://res.openai.azure.com").base_url
    'https://res.openai.azure.com/openai/v1'
"""

from conduit.providers.azure.connection import AzureConnection, AzureOptions
from conduit.providers.azure.filters import FilteredError, filter_error
from conduit.providers.azure.model import (
    AzureChunkAssembler,
    AzureOpenAIChatModel,
    AzureOpenAIEmbedder,
)

__all__ = [
    "AzureChunkAssembler",
    "AzureConnection",
    "AzureOpenAIChatModel",
    "AzureOpenAIEmbedder",
    "AzureOptions",
    "FilteredError",
    "filter_error",
]
