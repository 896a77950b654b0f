"""`generate_image()`, `speak()` and `generate_media()`: media out, as `MediaResponse`.

A model string (`"openai/gpt-image-1.5"`) is resolved through the provider registry's
`image` / `speech` entries; a provider without one is refused before anything is sent.
A model built from a string is closed after the call; build one with `image_model()` /
`speech_model()` to reuse its connections.

Example:
    >>> image = generate_image_sync("fake/image", "a lighthouse", size="16x16")
    >>> image.media_type, image.kind
    ('image/png', 'image')
"""

from __future__ import annotations

from typing import Any, Literal, overload

from conduit.core.media import ImageModel, OutputType, SpeechModel
from conduit.core.sync import run_sync
from conduit.errors import ValidationError
from conduit.schema import ImageOptions, MediaResponse, SpeechOptions

__all__ = [
    "generate_image",
    "generate_image_sync",
    "generate_media",
    "generate_media_sync",
    "image_model",
    "speak",
    "speak_sync",
    "speech_model",
]


def _build(ref: str, kind: Literal["image", "speech"], config: dict[str, Any]) -> Any:
    from conduit.api.resolve import build_model

    return build_model(ref, kind, **config)


def image_model(ref: str, **config: Any) -> ImageModel:
    """Resolve `"provider/model"` to an image model; `config` goes to its class
    (`api_key=`, `base_url=`, `transport=`, ...).

    Example:
        >>> image_model("fake/image").model_info.ref
        'fake/image'
        >>> image_model("anthropic/claude-sonnet-4-5")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: [anthropic] provider 'anthropic' has no image generation...
    """
    built: ImageModel = _build(ref, "image", config)
    return built


def speech_model(ref: str, **config: Any) -> SpeechModel:
    """Resolve `"provider/model"` to a text-to-speech model.

    Example:
        >>> speech_model("fake/speech").model_info.capabilities.audio_output
        True
    """
    built: SpeechModel = _build(ref, "speech", config)
    return built


async def _close(model: Any) -> None:
    closer = getattr(model, "aclose", None)
    if closer is not None:
        await closer()


async def generate_image(
    model: str | ImageModel,
    prompt: str,
    options: ImageOptions | None = None,
    **kwargs: Any,
) -> MediaResponse:
    """One image for `prompt`; keywords are `ImageOptions` (`size=`, `quality=`,
    `output_format=`, `background=`, `extra=`).

    Example:
        >>> import asyncio
        >>> asyncio.run(generate_image("fake/image", "a cat", size="8x8")).media_type
        'image/png'
    """
    if not isinstance(model, str):
        return await model.generate_image(prompt, options, **kwargs)
    built = image_model(model)
    try:
        return await built.generate_image(prompt, options, **kwargs)
    finally:
        await _close(built)


async def speak(
    model: str | SpeechModel,
    text: str,
    options: SpeechOptions | None = None,
    **kwargs: Any,
) -> MediaResponse:
    """`text` as speech; keywords are `SpeechOptions` (`voice=`, `format=`, `speed=`,
    `instructions=`, `extra=`).

    Example:
        >>> import asyncio
        >>> asyncio.run(speak("fake/speech", "Hello")).media_type
        'audio/wav'
    """
    if not isinstance(model, str):
        return await model.speak(text, options, **kwargs)
    built = speech_model(model)
    try:
        return await built.speak(text, options, **kwargs)
    finally:
        await _close(built)


@overload
async def generate_media(
    model: str | ImageModel, prompt: str, *, output_type: Literal["image"], **kwargs: Any
) -> MediaResponse: ...
@overload
async def generate_media(
    model: str | SpeechModel, prompt: str, *, output_type: Literal["audio"], **kwargs: Any
) -> MediaResponse: ...
async def generate_media(
    model: Any, prompt: str, *, output_type: OutputType, **kwargs: Any
) -> MediaResponse:
    """`generate_image` for `output_type="image"`, `speak` for `output_type="audio"`.

    Example:
        >>> import asyncio
        >>> asyncio.run(generate_media("fake/speech", "Hi", output_type="audio")).kind
        'audio'
    """
    if output_type == "image":
        return await generate_image(model, prompt, **kwargs)
    if output_type == "audio":
        return await speak(model, prompt, **kwargs)
    raise ValidationError(f"output_type must be 'image' or 'audio', not {output_type!r}")


def generate_image_sync(
    model: str | ImageModel, prompt: str, options: ImageOptions | None = None, **kwargs: Any
) -> MediaResponse:
    """`generate_image` for synchronous code.

    Example:
        >>> generate_image_sync("fake/image", "a dog").kind
        'image'
    """
    return run_sync(generate_image(model, prompt, options, **kwargs))


def speak_sync(
    model: str | SpeechModel, text: str, options: SpeechOptions | None = None, **kwargs: Any
) -> MediaResponse:
    """`speak` for synchronous code.

    Example:
        >>> speak_sync("fake/speech", "Hi").extension
        '.wav'
    """
    return run_sync(speak(model, text, options, **kwargs))


def generate_media_sync(
    model: Any, prompt: str, *, output_type: OutputType, **kwargs: Any
) -> MediaResponse:
    """`generate_media` for synchronous code.

    Example:
        >>> generate_media_sync("fake/image", "x", output_type="image").kind
        'image'
    """
    return run_sync(generate_media(model, prompt, output_type=output_type, **kwargs))
