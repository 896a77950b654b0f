"""What Gemini's image and speech answers share: the first candidate, and the media in
its `inlineData` parts (base64), or the reason there is none.

Example:
    >>> answer = {"candidates": [{"content": {"parts": [
    ...     {"text": "here"}, {"inlineData": {"mimeType": "image/png", "data": "aGk="}}]}}]}
    >>> candidate = first_candidate(answer, "gemini")
    >>> inline_media(candidate, "image/", "gemini")
    (b'hi', 'image/png')
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, NoReturn

from conduit.errors import APIConnectionError
from conduit.providers.gemini.response import (
    FILTER_REASONS,
    blocked_prompt_error,
    filtered_error,
)

__all__ = ["first_candidate", "inline_media", "no_media", "part_texts"]


def first_candidate(data: dict[str, Any], provider: str) -> dict[str, Any]:
    """The answer's first candidate; a blocked prompt raises its `ContentFilterError`."""
    blocked = blocked_prompt_error(data, provider)
    if blocked is not None:
        raise blocked
    candidates = data.get("candidates") or [{}]
    return candidates[0] if isinstance(candidates[0], dict) else {}


def _parts(candidate: dict[str, Any]) -> list[Any]:
    parts = (candidate.get("content") or {}).get("parts") or []
    return parts if isinstance(parts, list) else []


def part_texts(candidate: dict[str, Any]) -> list[str]:
    """The text parts of a candidate."""
    return [
        p["text"]
        for p in _parts(candidate)
        if isinstance(p, dict) and isinstance(p.get("text"), str)
    ]


def inline_media(
    candidate: dict[str, Any], mime_prefix: str, provider: str
) -> tuple[bytes, str] | None:
    """The bytes and media type of the first inline part whose type starts with
    `mime_prefix` (`"image/"`, `"audio/"`), or None."""
    for part in _parts(candidate):
        inline = part.get("inlineData") if isinstance(part, dict) else None
        if not isinstance(inline, dict):
            continue
        mime = str(inline.get("mimeType", ""))
        if mime.startswith(mime_prefix):
            try:
                return base64.b64decode(inline.get("data") or "", validate=True), mime
            except (binascii.Error, ValueError):
                kind = mime_prefix.rstrip("/")
                raise APIConnectionError(
                    f"the {kind} in the answer is not valid base64", provider=provider
                ) from None
    return None


def no_media(candidate: dict[str, Any], provider: str, message: str) -> NoReturn:
    """Raise why an answer holds no media: its safety filter, else `message`."""
    if candidate.get("finishReason") in FILTER_REASONS:
        raise filtered_error(candidate, provider)
    raise APIConnectionError(message, provider=provider)
