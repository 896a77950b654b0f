"""The providers' model lists, read into `ListedModel`s: OpenAI-style `GET /models`,
Anthropic's and Gemini's paged model lists, and Ollama's `/api/tags`, each as its API
reference describes it (see `conduit.catalog.refresh` for how they are fetched and
merged into the catalog).

Example:
    >>> [m.name for m in parse_ollama_tags({"models": [{"name": "llama3.2:latest"}]})]
    ['llama3.2']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conduit.errors import APIConnectionError

__all__ = [
    "ListedModel",
    "parse_anthropic_models",
    "parse_gemini_models",
    "parse_ollama_tags",
    "parse_openai_models",
]


@dataclass(frozen=True, slots=True)
class ListedModel:
    """One model as a provider's list endpoint reports it.

    `reported` holds the capabilities the listing states outright (Anthropic's
    `image_input` → `vision`, ...); the rest come from the provider's defaults.

    Example:
        >>> ListedModel("ollama", "llama3.2", aliases=("llama3.2:latest",)).kind
        'chat'
    """

    provider: str
    name: str
    kind: str = "chat"
    aliases: tuple[str, ...] = ()
    context_window: int | None = None
    max_output_tokens: int | None = None
    status: str | None = None
    reported: Mapping[str, bool] = field(default_factory=dict)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _items(payload: Any, key: str) -> list[dict[str, Any]]:
    items = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise APIConnectionError(f"the model list has no {key!r} array; is this the right URL?")
    return [item for item in items if isinstance(item, dict)]


def parse_openai_models(payload: Any, provider: str = "openai") -> list[ListedModel]:
    """An OpenAI-style `GET /models` answer. Ids containing "embed" are embedding models
    (the listing has no kind field); Groq's extra `context_window` is kept.

    Example:
        >>> parse_openai_models({"data": [{"id": "text-embedding-3-small"}]})[0].kind
        'embedding'
    """
    return [
        ListedModel(
            provider,
            item["id"],
            kind="embedding" if "embed" in item["id"] else "chat",
            context_window=_int(item.get("context_window")),
            reported=_openai_output(item["id"]),
        )
        for item in _items(payload, "data")
        if isinstance(item.get("id"), str) and item["id"]
    ]


def _openai_output(model_id: str) -> dict[str, bool]:
    """What a listed model makes, from its name (the listing has no such field): image
    models (`gpt-image-*`, `dall-e-*`) and speech models (`tts-1`, `gpt-4o-mini-tts`), so
    `conduit.media` does not refuse them once `models update` has listed them."""
    if "image" in model_id or model_id.startswith("dall-e"):
        return {"image_output": True}
    if "tts" in model_id:
        return {"audio_output": True}
    return {}


def parse_anthropic_models(payload: Any) -> list[ListedModel]:
    """One page of Anthropic's `GET /v1/models`.

    Example:
        >>> page = {"data": [{"type": "model", "id": "claude-x-1", "display_name": "X",
        ...                   "created_at": "2026-01-01T00:00:00Z", "max_tokens": 64000,
        ...                   "lifecycle": "active"}], "has_more": False}
        >>> parse_anthropic_models(page)[0].max_output_tokens
        64000
    """
    found = []
    for item in _items(payload, "data"):
        if not isinstance(item.get("id"), str) or not item["id"]:
            continue
        caps: dict[str, Any] = (
            item["capabilities"] if isinstance(item.get("capabilities"), dict) else {}
        )
        reported = {
            ours: bool(caps[theirs].get("supported"))
            for theirs, ours in (("image_input", "vision"), ("structured_outputs", "json_schema"))
            if isinstance(caps.get(theirs), dict)
        }
        lifecycle = item.get("lifecycle")
        found.append(
            ListedModel(
                "anthropic",
                item["id"],
                context_window=_int(item.get("max_input_tokens")),
                max_output_tokens=_int(item.get("max_tokens")),
                status=lifecycle if lifecycle in ("active", "deprecated", "retired") else None,
                reported=reported,
            )
        )
    return found


def _gemini_output(name: str) -> dict[str, bool]:
    """What a listed Gemini model makes, from its name (`gemini-2.5-flash-image`,
    `gemini-2.5-flash-preview-tts`)."""
    if "image" in name:
        return {"image_output": True}
    if "tts" in name:
        return {"audio_output": True}
    return {}


def parse_gemini_models(payload: Any) -> list[ListedModel]:
    """One page of Gemini's `models.list`. Models that neither generate text
    (`generateContent`) nor embed (`embedContent`) are left out (image, video, ...).

    Example:
        >>> page = {"models": [{"name": "models/gemini-x", "inputTokenLimit": 1048576,
        ...     "outputTokenLimit": 65536, "supportedGenerationMethods": ["generateContent"]}]}
        >>> parse_gemini_models(page)[0].name
        'gemini-x'
    """
    found = []
    for item in _items(payload, "models"):
        name = item.get("name")
        methods = item.get("supportedGenerationMethods") or []
        if not isinstance(name, str) or not name or not isinstance(methods, list):
            continue
        if "generateContent" in methods:
            kind = "chat"
        elif "embedContent" in methods:
            kind = "embedding"
        else:
            continue
        found.append(
            ListedModel(
                "gemini",
                name.removeprefix("models/"),
                kind=kind,
                context_window=_int(item.get("inputTokenLimit")),
                # an embedder's outputTokenLimit (1) is not an output budget
                max_output_tokens=_int(item.get("outputTokenLimit")) if kind == "chat" else None,
                # image and speech models answer generateContent too
                reported=_gemini_output(name),
            )
        )
    return found


def parse_ollama_tags(payload: Any) -> list[ListedModel]:
    """Ollama's `GET /api/tags`. `name:latest` is listed as `name` (what Ollama runs for
    a bare name), with the full tag as an alias; BERT-family models are embedders.

    Example:
        >>> parse_ollama_tags({"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest",
        ...     "details": {"family": "llama"}}]})[0].aliases
        ('llama3.2:latest',)
    """
    found = []
    for item in _items(payload, "models"):
        tag = item.get("name") or item.get("model")
        if not isinstance(tag, str) or not tag:
            continue
        details: dict[str, Any] = item["details"] if isinstance(item.get("details"), dict) else {}
        family = str(details.get("family") or "")
        name = tag.removesuffix(":latest")
        found.append(
            ListedModel(
                "ollama",
                name,
                kind="embedding" if "bert" in family else "chat",
                aliases=(tag,) if name != tag else (),
            )
        )
    return found
