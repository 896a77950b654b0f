"""LiteLLM's provider names in Conduit's terms: `vertex_ai/gemini-2.5-pro` is
`vertex/gemini-2.5-pro`, `vertex_ai/claude-...` is `vertex-anthropic/claude-...`,
`together_ai/...` is `together/...`. A LiteLLM provider Conduit has no adapter for
(`cohere_chat`, `huggingface`, `replicate`, `databricks`, `watsonx`, `predibase`, ...)
is a clear error naming what Conduit can call, never a guess; with `mock_response`
nothing is sent, so such a model still answers (priced by the catalog when it lists it).

Example:
    >>> to_conduit("vertex_ai/gemini-2.5-pro"), to_conduit("vertex_ai/claude-sonnet-4-5")
    ('vertex/gemini-2.5-pro', 'vertex-anthropic/claude-sonnet-4-5')
    >>> to_conduit("gpt-4o", "together_ai"), litellm_name("vertex-anthropic")
    ('together/gpt-4o', 'vertex_ai')
    >>> unsupported("replicate/meta/llama-3")
    'replicate'
"""

from __future__ import annotations

__all__ = ["LITELLM_PROVIDERS", "UNSUPPORTED", "litellm_name", "to_conduit", "unsupported"]

LITELLM_PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "custom_openai": "openai-compatible",
    "hosted_vllm": "vllm",
    "lm_studio": "lmstudio",
    "llamafile": "openai-compatible",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "vertex_ai": "vertex",
    "vertex_ai_beta": "vertex",
    "bedrock": "bedrock",
    "azure": "azure",
    "groq": "groq",
    "xai": "xai",
    "mistral": "mistral",
    "codestral": "mistral",
    "deepseek": "deepseek",
    "together_ai": "together",
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "ollama": "ollama",
    "ollama_chat": "ollama",
}
"""LiteLLM provider prefixes -> Conduit providers (the same name when not listed)."""

UNSUPPORTED = frozenset(
    {
        *("cohere", "cohere_chat", "huggingface", "replicate", "databricks", "watsonx"),
        *("watsonx_text", "predibase", "sagemaker", "sagemaker_chat", "fireworks_ai"),
        *("deepinfra", "anyscale", "cloudflare", "ai21", "ai21_chat", "nlp_cloud", "aleph_alpha"),
        *("petals", "palm", "voyage", "azure_ai", "cerebras", "sambanova", "nvidia_nim"),
        *("friendliai", "github", "jina_ai", "baseten", "triton", "nebius", "novita"),
        *("dashscope", "moonshot", "snowflake", "oci", "clarifai", "empower", "featherless_ai"),
    }
)
"""LiteLLM providers Conduit has no adapter for: their models are an error to call
(facts about them, such as prices, may still be in the catalog)."""

# Providers Conduit cannot call, named as the catalog's public data names them.
_FACT_NAMES = {"cohere_chat": "cohere", "ai21_chat": "ai21", "watsonx_text": "watsonx"}

# Conduit's names back in LiteLLM's words (`custom_llm_provider`, `litellm_provider`).
_BACK = {
    "vertex": "vertex_ai",
    "vertex-anthropic": "vertex_ai",
    "together": "together_ai",
    "openai-compatible": "openai",
    "vllm": "hosted_vllm",
    "lmstudio": "lm_studio",
}


def litellm_name(provider: str) -> str:
    """LiteLLM's name for a Conduit provider (`vertex` is `vertex_ai`).

    Example:
        >>> litellm_name("together"), litellm_name("openai")
        ('together_ai', 'openai')
    """
    return _BACK.get(provider, provider)


def _split(model: str, custom_llm_provider: str | None) -> tuple[str | None, str]:
    if custom_llm_provider:
        prefix = f"{custom_llm_provider}/"
        name = model[len(prefix) :] if model.startswith(prefix) else model
        return custom_llm_provider, name
    head, slash, rest = model.partition("/")
    if slash and (head in LITELLM_PROVIDERS or head in UNSUPPORTED):
        return head, rest
    return None, model


def unsupported(model: str, custom_llm_provider: str | None = None) -> str | None:
    """The LiteLLM provider of `model` when Conduit cannot call it, else None.

    Example:
        >>> unsupported("cohere_chat/command-r"), unsupported("openai/gpt-4o")
        ('cohere_chat', None)
    """
    provider, _ = _split(model, custom_llm_provider)
    return provider if provider in UNSUPPORTED else None


def to_conduit(model: str, custom_llm_provider: str | None = None) -> str:
    """A LiteLLM model string as Conduit's reference: a LiteLLM provider prefix (or
    `custom_llm_provider`) in Conduit's name; anything else as it is, for the one
    resolver (`conduit.api.resolve_ref`) to place.

    Example:
        >>> to_conduit("together_ai/meta-llama/Llama-3-8b"), to_conduit("gpt-4o")
        ('together/meta-llama/Llama-3-8b', 'gpt-4o')
    """
    provider, name = _split(model, custom_llm_provider)
    if provider is None:
        return model
    conduit = LITELLM_PROVIDERS.get(provider) or _FACT_NAMES.get(provider, provider)
    if conduit == "vertex" and name.lower().startswith("claude"):
        conduit = "vertex-anthropic"
    return f"{conduit}/{name}"
