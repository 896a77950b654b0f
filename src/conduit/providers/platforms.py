"""The cloud platforms (Azure OpenAI, AWS Bedrock, Google Vertex AI) as registry entries,
registered through the same `register_provider` that plugins use.

Example:
    >>> from conduit.providers.registry import get_provider
    >>> get_provider("bedrock").key_env
    'AWS_ACCESS_KEY_ID'
"""

from __future__ import annotations

from conduit.providers.registry import ProviderSpec, register_provider

__all__ = ["PLATFORMS"]

PLATFORMS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        "azure",
        chat="conduit.providers.azure:AzureOpenAIChatModel",
        embed="conduit.providers.azure:AzureOpenAIEmbedder",
        key_env="AZURE_OPENAI_API_KEY",
        key_required=False,  # an Entra ID token provider may stand in for the key
        base_url_env="AZURE_OPENAI_ENDPOINT",
        description="Azure OpenAI deployments: azure/<deployment> (AZURE_OPENAI_ENDPOINT, "
        "OPENAI_API_VERSION)",
        options={"max_tokens_field": "max_completion_tokens"},
    ),
    ProviderSpec(
        "bedrock",
        chat="conduit.providers.bedrock:BedrockChatModel",
        embed="conduit.providers.bedrock:BedrockEmbedder",
        key_env="AWS_ACCESS_KEY_ID",
        key_required=False,  # the AWS credential chain finds credentials
        base_url_env="BEDROCK_RUNTIME_ENDPOINT",
        description="AWS Bedrock (Converse API, SigV4): bedrock/<model-id or inference "
        "profile>; needs the bedrock extra",
    ),
    ProviderSpec(
        "vertex",
        chat="conduit.providers.vertex:VertexGeminiChatModel",
        key_env="GOOGLE_APPLICATION_CREDENTIALS",
        key_required=False,
        base_url_env="VERTEX_BASE_URL",
        description="Gemini on Google Vertex AI (project, location, ADC); needs the vertex extra",
    ),
    ProviderSpec(
        "vertex-anthropic",
        chat="conduit.providers.vertex:VertexAnthropicChatModel",
        key_env="GOOGLE_APPLICATION_CREDENTIALS",
        key_required=False,
        base_url_env="VERTEX_BASE_URL",
        description="Claude on Google Vertex AI (rawPredict); needs the vertex extra",
    ),
)

for _spec in PLATFORMS:
    register_provider(_spec)
