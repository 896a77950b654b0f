"""OpenAI-compatible vendors and local servers, as data: a base URL, a key variable and a
few settings each, served by the OpenAI adapter (`OpenAIChatModel`, `OpenAIEmbedder`).

Each preset registers itself when the registry loads, so `conduit.model("groq/...")`
works like `conduit.model("openai/...")`: the key comes from the vendor's variable
(`GROQ_API_KEY`, ...) and the base URL from its `*_BASE_URL` variable when set.

Settings (`ProviderSpec.options`) the OpenAI adapter reads:

- `max_tokens_field`: the body field for `max_tokens`. `max_tokens` unless the vendor
  documents it as deprecated in favour of `max_completion_tokens` (Groq, xAI).
- `response_fields`: top-level fields of the answer kept in `Response.provider_data`
  (Perplexity's `citations` and `search_results`).

Local servers (vLLM, LM Studio, llama.cpp) need no key; when one is started with a key,
its usual variable supplies it.

Example:
    >>> from conduit.providers.registry import get_provider
    >>> spec = get_provider("groq")
    >>> spec.base_url, spec.key_env
    ('https://api.groq.com/openai/v1', 'GROQ_API_KEY')
    >>> sorted(PRESETS) == sorted(s.name for s in presets())
    True
"""

from __future__ import annotations

from conduit.errors import ValidationError
from conduit.providers.registry import ProviderSpec, register_provider

__all__ = ["PRESETS", "presets", "register_presets"]

_CHAT = "conduit.providers.openai:OpenAIChatModel"
_EMBED = "conduit.providers.openai:OpenAIEmbedder"

# Base URLs and key variables as each vendor documents them (checked 2025): Groq
# console.groq.com/docs/openai; xAI docs.x.ai (chat completions reference: `max_tokens`
# deprecated for `max_completion_tokens`); Mistral docs.mistral.ai; Perplexity
# docs.perplexity.ai; OpenRouter openrouter.ai/docs; DeepSeek api-docs.deepseek.com;
# Together docs.together.ai; vLLM docs "OpenAI-Compatible Server" (`--api-key` or
# VLLM_API_KEY); LM Studio lmstudio.ai/docs ("OpenAI Compatible Endpoints", LM_API_TOKEN
# when authentication is on); llama.cpp tools/server (`--api-key` or LLAMA_API_KEY).
PRESETS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec(
            "groq",
            chat=_CHAT,
            base_url="https://api.groq.com/openai/v1",
            key_env="GROQ_API_KEY",
            base_url_env="GROQ_BASE_URL",
            description="Groq's OpenAI-compatible API",
            # Groq's API reference: max_tokens is deprecated in favor of max_completion_tokens.
            options={"max_tokens_field": "max_completion_tokens"},
        ),
        ProviderSpec(
            "xai",
            chat=_CHAT,
            base_url="https://api.x.ai/v1",
            key_env="XAI_API_KEY",
            base_url_env="XAI_BASE_URL",
            description="xAI's API (Grok), OpenAI-compatible chat completions",
            options={"max_tokens_field": "max_completion_tokens"},
        ),
        ProviderSpec(
            "mistral",
            chat=_CHAT,
            embed=_EMBED,
            base_url="https://api.mistral.ai/v1",
            key_env="MISTRAL_API_KEY",
            base_url_env="MISTRAL_BASE_URL",
            description="Mistral AI's API (chat completions, embeddings)",
            options={"max_tokens_field": "max_tokens"},
        ),
        ProviderSpec(
            "perplexity",
            chat=_CHAT,
            base_url="https://api.perplexity.ai",
            key_env="PERPLEXITY_API_KEY",
            base_url_env="PERPLEXITY_BASE_URL",
            description="Perplexity's Sonar API; sources in Response.provider_data['citations']",
            options={
                "max_tokens_field": "max_tokens",
                "response_fields": ("citations", "search_results"),
            },
        ),
        ProviderSpec(
            "openrouter",
            chat=_CHAT,
            base_url="https://openrouter.ai/api/v1",
            key_env="OPENROUTER_API_KEY",
            base_url_env="OPENROUTER_BASE_URL",
            description="OpenRouter: many vendors' models behind one OpenAI-compatible API",
            options={"max_tokens_field": "max_tokens"},
        ),
        ProviderSpec(
            "deepseek",
            chat=_CHAT,
            base_url="https://api.deepseek.com/v1",
            key_env="DEEPSEEK_API_KEY",
            base_url_env="DEEPSEEK_BASE_URL",
            description="DeepSeek's OpenAI-compatible API",
            options={"max_tokens_field": "max_tokens"},
        ),
        ProviderSpec(
            "together",
            chat=_CHAT,
            embed=_EMBED,
            base_url="https://api.together.xyz/v1",
            key_env="TOGETHER_API_KEY",
            base_url_env="TOGETHER_BASE_URL",
            description="Together AI's OpenAI-compatible API (chat, embeddings)",
            options={"max_tokens_field": "max_tokens"},
        ),
        ProviderSpec(
            "vllm",
            chat=_CHAT,
            embed=_EMBED,
            base_url="http://127.0.0.1:8000/v1",
            key_env="VLLM_API_KEY",
            key_required=False,
            base_url_env="VLLM_BASE_URL",
            description="a vLLM server (vllm serve), by default on 127.0.0.1:8000",
            options={"max_tokens_field": "max_tokens"},
        ),
        ProviderSpec(
            "lmstudio",
            chat=_CHAT,
            embed=_EMBED,
            base_url="http://127.0.0.1:1234/v1",
            key_env="LM_API_TOKEN",
            key_required=False,
            base_url_env="LMSTUDIO_BASE_URL",
            description="LM Studio's local server, by default on 127.0.0.1:1234",
            options={"max_tokens_field": "max_tokens"},
        ),
        ProviderSpec(
            "llamacpp",
            chat=_CHAT,
            embed=_EMBED,
            base_url="http://127.0.0.1:8080/v1",
            key_env="LLAMA_API_KEY",
            key_required=False,
            base_url_env="LLAMACPP_BASE_URL",
            description="a llama.cpp server (llama-server), by default on 127.0.0.1:8080",
            options={"max_tokens_field": "max_tokens"},
        ),
    )
}


def presets() -> list[ProviderSpec]:
    """The preset specs, in the order above.

    Example:
        >>> [s.name for s in presets()][:3]
        ['groq', 'xai', 'mistral']
    """
    return list(PRESETS.values())


def register_presets(*, replace: bool = False) -> None:
    """Register every preset (done once, when this module is first imported). A name that
    is already taken (by a plugin, say) is left alone unless `replace=True`.

    Example:
        >>> register_presets()  # a second time changes nothing
    """
    for spec in PRESETS.values():
        try:
            register_provider(spec, replace=replace)
        except ValidationError:
            continue


register_presets()
