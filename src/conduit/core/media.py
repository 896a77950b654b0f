"""What an image-generation model and a text-to-speech model are, and their base classes.

They sit beside `ChatModel`: a prompt in, a `MediaResponse` (bytes + media type) out.
Providers implement `_generate_image` / `_speak` on validated input; the base classes
check the input and the model's capabilities before anything is sent.

Example:
    >>> from conduit.core.protocols import Capabilities
    >>> info = ModelInfo("openai", "gpt-4o-mini", Capabilities())
    >>> check_output(info, "image")
    Traceback (most recent call last):
    ...
    conduit.errors.ValidationError: openai/gpt-4o-mini does not generate images...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal, Protocol, runtime_checkable

from conduit.core.protocols import ModelInfo
from conduit.core.sync import run_sync
from conduit.errors import ValidationError
from conduit.schema import ImageOptions, MediaResponse, SpeechOptions

__all__ = [
    "BaseImageModel",
    "BaseSpeechModel",
    "ImageModel",
    "OutputType",
    "SpeechModel",
    "check_output",
    "make_image_options",
    "make_speech_options",
]

OutputType = Literal["image", "audio"]
_WHAT = {"image": ("image_output", "generate images"), "audio": ("audio_output", "speak")}


def check_output(info: ModelInfo, output_type: OutputType) -> None:
    """Refuse, before anything is sent, output the model is known not to make (the
    catalog's capabilities; models it does not list are given the benefit of the doubt).

    Example:
        >>> from conduit.core.protocols import Capabilities
        >>> check_output(ModelInfo("openai", "gpt-image-2", Capabilities(image_output=True)),
        ...              "image")
    """
    if output_type not in _WHAT:
        raise ValidationError(f"output_type must be 'image' or 'audio', not {output_type!r}")
    flag, verb = _WHAT[output_type]
    if not getattr(info.capabilities, flag):
        raise ValidationError(
            f"{info.ref} does not {verb}; use a model that does (the catalog lists each "
            f"model's capabilities), e.g. conduit.media.generate_image('openai/gpt-image-1.5', ...)"
            if output_type == "image"
            else f"{info.ref} does not {verb}; use a text-to-speech model such as "
            "'openai/gpt-4o-mini-tts'"
        )


def _prompt(text: str, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(f"{what} needs some text")
    return text


def make_image_options(options: ImageOptions | None, kwargs: dict[str, Any]) -> ImageOptions:
    """Options from an object and/or keyword arguments (keywords win).

    Example:
        >>> make_image_options(ImageOptions(size="1024x1024"), {"quality": "low"}).size
        '1024x1024'
    """
    if options is not None and not isinstance(options, ImageOptions):
        raise ValidationError(f"options must be ImageOptions, not {type(options).__name__}")
    if not kwargs:
        return options or ImageOptions()
    return ImageOptions(**{**(options.model_dump(exclude_unset=True) if options else {}), **kwargs})


def make_speech_options(options: SpeechOptions | None, kwargs: dict[str, Any]) -> SpeechOptions:
    """Options from an object and/or keyword arguments (keywords win).

    Example:
        >>> make_speech_options(None, {"voice": "coral"}).voice
        'coral'
    """
    if options is not None and not isinstance(options, SpeechOptions):
        raise ValidationError(f"options must be SpeechOptions, not {type(options).__name__}")
    if not kwargs:
        return options or SpeechOptions()
    merged = {**(options.model_dump(exclude_unset=True) if options else {}), **kwargs}
    return SpeechOptions(**merged)


@runtime_checkable
class ImageModel(Protocol):
    """Anything that turns a prompt into an image."""

    @property
    def model_info(self) -> ModelInfo:
        """Facts about the model."""
        ...

    async def generate_image(
        self, prompt: str, options: ImageOptions | None = None, **kwargs: Any
    ) -> MediaResponse:
        """One image for `prompt`."""
        ...


@runtime_checkable
class SpeechModel(Protocol):
    """Anything that turns text into speech."""

    @property
    def model_info(self) -> ModelInfo:
        """Facts about the model."""
        ...

    async def speak(
        self, text: str, options: SpeechOptions | None = None, **kwargs: Any
    ) -> MediaResponse:
        """`text` spoken, as audio bytes."""
        ...


class _Closable:
    async def aclose(self) -> None:
        """Release connections held by this model."""

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class BaseImageModel(_Closable, ABC):
    """Base for image models: validation, the capability check and the sync twin."""

    @property
    @abstractmethod
    def model_info(self) -> ModelInfo:
        """Facts about the model."""

    async def generate_image(
        self, prompt: str, options: ImageOptions | None = None, **kwargs: Any
    ) -> MediaResponse:
        """One image for `prompt`; keywords (`size=`, `quality=`, ...) are `ImageOptions`.

        Example:
            >>> from conduit.media.fake import FakeImageModel
            >>> import asyncio
            >>> asyncio.run(FakeImageModel().generate_image("a red square")).media_type
            'image/png'
        """
        text = _prompt(prompt, "generate_image()")
        opts = make_image_options(options, kwargs)
        check_output(self.model_info, "image")
        return await self._generate_image(text, opts)

    def generate_image_sync(
        self, prompt: str, options: ImageOptions | None = None, **kwargs: Any
    ) -> MediaResponse:
        """`generate_image` for synchronous code."""
        return run_sync(self.generate_image(prompt, options, **kwargs))

    @abstractmethod
    async def _generate_image(self, prompt: str, options: ImageOptions) -> MediaResponse:
        """Generate from a validated prompt."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_info.ref!r})"


class BaseSpeechModel(_Closable, ABC):
    """Base for text-to-speech models: validation, the capability check, the sync twin."""

    @property
    @abstractmethod
    def model_info(self) -> ModelInfo:
        """Facts about the model."""

    async def speak(
        self, text: str, options: SpeechOptions | None = None, **kwargs: Any
    ) -> MediaResponse:
        """`text` as speech; keywords (`voice=`, `format=`, ...) are `SpeechOptions`.

        Example:
            >>> from conduit.media.fake import FakeSpeechModel
            >>> import asyncio
            >>> asyncio.run(FakeSpeechModel().speak("Hello")).media_type
            'audio/wav'
        """
        checked = _prompt(text, "speak()")
        opts = make_speech_options(options, kwargs)
        check_output(self.model_info, "audio")
        return await self._speak(checked, opts)

    def speak_sync(
        self, text: str, options: SpeechOptions | None = None, **kwargs: Any
    ) -> MediaResponse:
        """`speak` for synchronous code."""
        return run_sync(self.speak(text, options, **kwargs))

    @abstractmethod
    async def _speak(self, text: str, options: SpeechOptions) -> MediaResponse:
        """Speak validated text."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_info.ref!r})"
