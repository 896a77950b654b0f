"""Model reference strings: `"provider/model"`, parsed once into a typed value."""

from __future__ import annotations

from dataclasses import dataclass

from conduit.errors import ValidationError

__all__ = ["ModelRef", "parse_model_ref"]


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed `provider/model` string. The model part may itself contain slashes
    (`openrouter/meta-llama/llama-3-8b`, `local/path/to/model.gguf`).

    Example:
        >>> parse_model_ref("openai/gpt-4o-mini")
        ModelRef(provider='openai', name='gpt-4o-mini')
    """

    provider: str
    name: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.name}"


def parse_model_ref(ref: str) -> ModelRef:
    """Split `"provider/model"`; the provider is never guessed from the model name.

    Example:
        >>> parse_model_ref("openrouter/meta-llama/llama-3-8b").name
        'meta-llama/llama-3-8b'
    """
    if not isinstance(ref, str):
        raise ValidationError(
            f"a model reference is a string like 'openai/gpt-4o-mini', not {type(ref).__name__}"
        )
    provider, slash, name = ref.strip().partition("/")
    if not slash or not provider or not name:
        raise ValidationError(
            f"model {ref!r} needs a provider prefix, like 'openai/{ref.strip() or 'gpt-4o-mini'}'"
        )
    return ModelRef(provider.lower(), name)
