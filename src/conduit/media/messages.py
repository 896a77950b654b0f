"""The framework face's message types: `TextMessage`, `ImageMessage`, `AudioMessage`.

Each is a `conduit.schema.Message` (every part of Conduit takes it as it is) with what
the framework's users call on it: `to_openai()`, `to_anthropic()`, `to_google()`,
`to_ollama()`, `to_perplexity()` (each is the provider adapter's own mapping of one
message, not a second copy of it), `to_cache_dict()` / `FrameworkMessage.from_cache_dict()`,
and for images and audio the media in and out: `ImageMessage.from_image_file(...)`
(converted and scaled to what every provider accepts, `display()` in the terminal) and
`AudioMessage.from_audio_file(...)` (`play()`).

Example:
    >>> message = ImageMessage.from_url("https://example.com/cat.png", "What is this?")
    >>> message.role, [b.type for b in message.blocks], message.text_content
    ('user', ['text', 'image'], 'What is this?')
    >>> TextMessage(role="user", content="Hi").to_anthropic()
    {'role': 'user', 'content': 'Hi'}
"""

from __future__ import annotations

import base64
import os
from typing import Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, PrivateAttr

from conduit.errors import ValidationError
from conduit.schema import (
    AudioBlock,
    ChatOptions,
    ContentBlock,
    ImageBlock,
    Message,
    Role,
    TextBlock,
    user,
)
from conduit.schema.responses import RESPONSE_MODELS

__all__ = [
    "AudioMessage",
    "FrameworkMessage",
    "ImageMessage",
    "TextMessage",
    "as_framework_message",
]

Detail = Literal["auto", "low", "high"] | None


class FrameworkMessage(Message):
    """A `Message` with the framework's conversions: the provider wire shapes and the
    cache dict. `message_type` is `"text"`, `"image"` or `"audio"`.

    Example:
        >>> TextMessage(role="system", content="Be brief.").to_openai()
        {'role': 'system', 'content': 'Be brief.'}
    """

    message_type: ClassVar[str] = "text"

    def __eq__(self, other: object) -> bool:
        # A framework message equals a core message with the same fields (the subclass
        # adds methods, not data), both ways round: Python asks the subclass first.
        if isinstance(other, Message):
            return self.__dict__ == other.__dict__
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def to_openai(self) -> dict[str, Any]:
        """This message as OpenAI Chat Completions sends it (the OpenAI adapter's mapping)."""
        from conduit.providers.openai.request import message_to_wire

        return message_to_wire(self)

    def to_perplexity(self) -> dict[str, Any]:
        """This message for Perplexity's Sonar API (the OpenAI chat format, which the
        Perplexity provider sends through the OpenAI adapter).

        Example:
            >>> TextMessage(role="user", content="Who won?").to_perplexity()
            {'role': 'user', 'content': 'Who won?'}
        """
        return self.to_openai()

    def to_anthropic(self) -> dict[str, Any]:
        """This message as Anthropic's Messages API takes it (the Anthropic adapter's
        mapping): a system message as `{"role": "system", "content": [text blocks]}`
        (the API's top-level `system` field), a tool result as a user turn.

        Example:
            >>> TextMessage(role="system", content="Be brief.").to_anthropic()
            {'role': 'system', 'content': [{'type': 'text', 'text': 'Be brief.'}]}
        """
        from conduit.providers.anthropic.request import messages_to_wire

        system, turns = messages_to_wire([self])
        if system:
            return {"role": "system", "content": system}
        if not turns:  # an empty assistant turn: Anthropic has nothing to send for it
            return {"role": "assistant", "content": []}
        return turns[0]

    def to_google(self) -> dict[str, Any]:
        """This message as Gemini's `generateContent` takes it (the Gemini adapter's
        mapping): `{"role": "user" | "model", "parts": [...]}`, a system message as its
        `systemInstruction` (`{"parts": [...]}`).

        Example:
            >>> TextMessage(role="assistant", content="Paris.").to_google()
            {'role': 'model', 'parts': [{'text': 'Paris.'}]}
        """
        from conduit.providers.gemini.request import build_generate_payload

        if self.role == "system":
            # Gemini takes a system instruction only beside a turn: ask with a stand-in.
            payload = build_generate_payload([self, user("-")], ChatOptions())
            instruction: dict[str, Any] = payload["systemInstruction"]
            return instruction
        contents: list[dict[str, Any]] = build_generate_payload([self], ChatOptions())["contents"]
        return contents[0]

    def to_ollama(self) -> dict[str, Any]:
        """This message as Ollama's `/api/chat` takes it (the Ollama adapter's mapping).

        Example:
            >>> TextMessage(role="user", content="Hi").to_ollama()
            {'role': 'user', 'content': 'Hi'}
        """
        from conduit.providers.ollama.request import message_to_wire

        return message_to_wire(self)

    def to_cache_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that `FrameworkMessage.from_cache_dict` turns back into this
        message (of the same type).

        Example:
            >>> TextMessage(role="user", content="Hi").to_cache_dict()
            {'message_type': 'text', 'role': 'user', 'content': 'Hi'}
        """
        data = self.model_dump(mode="json", exclude_none=True)
        if not data.get("tool_calls"):
            data.pop("tool_calls", None)
        return {"message_type": self.message_type, **data}

    @classmethod
    def from_cache_dict(cls, cache_dict: dict[str, Any]) -> FrameworkMessage:
        """The message `to_cache_dict` stored, as a `TextMessage`, `ImageMessage` or
        `AudioMessage`.

        Example:
            >>> stored = ImageMessage.from_url("https://example.com/a.png").to_cache_dict()
            >>> type(FrameworkMessage.from_cache_dict(stored)).__name__
            'ImageMessage'
        """
        data = dict(cache_dict)
        kind = data.pop("message_type", "text")
        parsed = data.pop("parsed", None)
        model_name = data.pop("parsed_model", None)
        target = _TYPES.get(kind)
        if target is None:
            raise ValidationError(f"unknown message_type {kind!r}: text, image or audio")
        message = target.model_validate(data)
        if isinstance(message, TextMessage) and parsed is not None:
            message._set_parsed(_revive(parsed, model_name))
        return message


def _revive(parsed: Any, model_name: str | None) -> Any:
    model = next((m for m in reversed(RESPONSE_MODELS) if m.__name__ == model_name), None)
    if model is None:
        return None
    if isinstance(parsed, list):
        return [model.model_validate(v) for v in parsed]
    return model.model_validate(parsed)


_BLOCKS = (TextBlock, ImageBlock, AudioBlock)


def _is_parsed(content: Any) -> bool:
    if isinstance(content, BaseModel) and not isinstance(
        content, TextBlock | ImageBlock | AudioBlock
    ):
        return True
    return (
        isinstance(content, list)
        and bool(content)
        and all(isinstance(v, BaseModel) and not isinstance(v, _BLOCKS) for v in content)
    )


def _dump(content: Any) -> Any:
    if isinstance(content, list):
        return [v.model_dump(mode="json") for v in content]
    return content.model_dump(mode="json")


class TextMessage(FrameworkMessage):
    """A text message; `content` may also be a Pydantic object or a list of them (a
    parsed answer), which is sent as its JSON text and kept as `parsed`.

    Example:
        >>> class City(BaseModel):
        ...     name: str
        >>> message = TextMessage(role="assistant", content=City(name="Oslo"))
        >>> message.content, message.parsed
        ('{"name":"Oslo"}', City(name='Oslo'))
    """

    message_type: ClassVar[str] = "text"
    _parsed: Any = PrivateAttr(default=None)

    def __init__(self, role: Role = "user", content: Any = "", **fields: Any) -> None:
        parsed = None
        if _is_parsed(content):
            parsed = content
            content = orjson.dumps(_dump(content)).decode()
        super().__init__(role=role, content=content, **fields)
        self._parsed = parsed

    def _set_parsed(self, value: Any) -> None:
        self._parsed = value

    @property
    def parsed(self) -> Any:
        """The Pydantic object(s) this message was made from, else None."""
        return self._parsed

    def to_cache_dict(self) -> dict[str, Any]:
        """As `FrameworkMessage.to_cache_dict`, keeping a parsed object's class by name."""
        data = super().to_cache_dict()
        if self._parsed is not None:
            first = self._parsed[0] if isinstance(self._parsed, list) else self._parsed
            data["parsed"] = _dump(self._parsed)
            data["parsed_model"] = type(first).__name__
        return data


def _with_text(block: ContentBlock, text: str | None) -> list[ContentBlock]:
    return [TextBlock(text=text), block] if text else [block]


class ImageMessage(FrameworkMessage):
    """A message with an image (and, usually, the question about it): build it with
    `from_image_file`, `from_base64` or `from_url`.

    Files and base64 images are converted and scaled to what the provider (by default,
    every provider) accepts: PNG, or JPEG for a photo that is already one (see
    `conduit.media.prepare_image`); `mime_type` says which.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> path = f"{tempfile.mkdtemp()}/chart.bmp"
        >>> Image.new("RGB", (64, 32)).save(path)
        >>> message = ImageMessage.from_image_file(image_file=path, text_content="Describe it")
        >>> message.mime_type, message.text_content, len(message.image_content) > 0
        ('image/png', 'Describe it', True)
    """

    message_type: ClassVar[str] = "image"

    def __init__(self, **fields: Any) -> None:
        if not fields:
            raise TypeError(
                "ImageMessage only builds messages: use ImageMessage.from_image_file(...), "
                ".from_base64(...) or .from_url(...)"
            )
        super().__init__(**fields)

    @classmethod
    def from_image_file(
        cls,
        image_file: str | os.PathLike[str],
        text_content: str | None = None,
        role: Role = "user",
        *,
        provider: str | None = None,
        detail: Detail = None,
    ) -> ImageMessage:
        """A message with the image file, converted and scaled for `provider` (see
        `ImageBlock.from_image_file`), after `text_content`."""
        block = ImageBlock.from_image_file(image_file, provider=provider, detail=detail)
        return cls(role=role, content=_with_text(block, text_content))

    @classmethod
    def from_base64(
        cls,
        image_content: str,
        text_content: str | None = None,
        mime_type: str | None = None,
        role: Role = "user",
        *,
        provider: str | None = None,
        detail: Detail = None,
    ) -> ImageMessage:
        """A message with base64 image data (its type read from the bytes unless
        `mime_type` is given), converted and scaled like a file.

        Example:
            >>> from conduit.media.fake import solid_png
            >>> data = base64.b64encode(solid_png(4, 4, (0, 0, 255))).decode()
            >>> ImageMessage.from_base64(data, "Which colour?").mime_type
            'image/png'
        """
        block = ImageBlock.from_base64(image_content, mime_type, provider=provider, detail=detail)
        return cls(role=role, content=_with_text(block, text_content))

    @classmethod
    def from_url(
        cls,
        url: str,
        text_content: str | None = None,
        role: Role = "user",
        *,
        detail: Detail = None,
    ) -> ImageMessage:
        """A message with an image URL (the provider fetches it).

        Example:
            >>> ImageMessage.from_url("https://example.com/a.png", detail="low").blocks[0].detail
            'low'
        """
        return cls(
            role=role, content=_with_text(ImageBlock.from_url(url, detail=detail), text_content)
        )

    @property
    def image_block(self) -> ImageBlock:
        """The image's content block."""
        for block in self.blocks:
            if isinstance(block, ImageBlock):
                return block
        raise ValidationError("this ImageMessage holds no image")

    @property
    def text_content(self) -> str:
        """The text sent with the image (empty when there is none)."""
        return self.text

    @property
    def image_content(self) -> str:
        """The image as base64 (empty for an image given by URL)."""
        return self.image_block.data or ""

    @property
    def mime_type(self) -> str:
        """The image's media type (`image/png`; `image/jpeg` for a photo kept as one)."""
        return self.image_block.media_type or ""

    def display(
        self, *, out: Any = None, size: tuple[int, int] | None = None, chafa: str = "chafa"
    ) -> bool:
        """Show the image in the terminal through `chafa`; without chafa (or for an image
        given by URL) one line says what it is. Never raises; True when drawn.

        Example:
            >>> import io
            >>> from conduit.media.fake import solid_png
            >>> data = base64.b64encode(solid_png(4, 4, (9, 9, 9))).decode()
            >>> out = io.StringIO()
            >>> ImageMessage.from_base64(data).display(out=out, chafa="no-such-program")
            False
        """
        import sys

        from conduit.schema.display import describe_image, show_image

        stream = out if out is not None else sys.stdout
        block = self.image_block
        if block.data is None:
            stream.write(describe_image(b"", block.media_type or "image", f"at {block.url}") + "\n")
            return False
        raw = base64.b64decode(block.data)
        return show_image(raw, block.media_type or "image", out=stream, size=size, chafa=chafa)


class AudioMessage(FrameworkMessage):
    """A message with audio (and, optionally, text): build it with `from_audio_file` or
    `from_base64`; `play()` plays it.

    Example:
        >>> message = AudioMessage.from_base64("UklGRiQAAABXQVZF", "Transcribe this")
        >>> message.format, message.text_content
        ('wav', 'Transcribe this')
    """

    message_type: ClassVar[str] = "audio"

    def __init__(self, **fields: Any) -> None:
        if not fields:
            raise TypeError(
                "AudioMessage only builds messages: use AudioMessage.from_audio_file(...) "
                "or .from_base64(...)"
            )
        super().__init__(**fields)

    @classmethod
    def from_audio_file(
        cls,
        audio_file: str | os.PathLike[str],
        text_content: str | None = None,
        role: Role = "user",
        *,
        format: str | None = None,
    ) -> AudioMessage:
        """A message with the audio file (its format read from its bytes) after
        `text_content`.

        Example:
            >>> import pathlib, tempfile
            >>> from conduit.media.fake import tone_wav
            >>> path = pathlib.Path(tempfile.mkdtemp(), "hello.wav")
            >>> _ = path.write_bytes(tone_wav(0.05))
            >>> AudioMessage.from_audio_file(path).format
            'wav'
        """
        block = AudioBlock.from_audio_file(audio_file, format)
        return cls(role=role, content=_with_text(block, text_content))

    @classmethod
    def from_base64(
        cls,
        audio_content: str,
        text_content: str | None = None,
        format: str | None = None,
        role: Role = "user",
    ) -> AudioMessage:
        """A message with base64 audio (its format read from the bytes unless given)."""
        block = AudioBlock.from_base64(audio_content, format)
        return cls(role=role, content=_with_text(block, text_content))

    @property
    def audio_block(self) -> AudioBlock:
        """The audio's content block."""
        for block in self.blocks:
            if isinstance(block, AudioBlock):
                return block
        raise ValidationError("this AudioMessage holds no audio")

    @property
    def text_content(self) -> str:
        """The text sent with the audio (empty when there is none)."""
        return self.text

    @property
    def audio_content(self) -> str:
        """The audio as base64."""
        return self.audio_block.data

    @property
    def format(self) -> str:
        """The audio format: `mp3`, `wav`, ..."""
        return self.audio_block.format

    def play(self, *, sink: Any = None) -> int:
        """Play the audio on the default output device, or into `sink` (a `.wav` path or
        an `AudioSink`); returns the frames played. Needs miniaudio
        (`pip install "conduit[audio]"`).

        Example:
            >>> import tempfile
            >>> from conduit.media.fake import tone_wav
            >>> clip = AudioMessage.from_base64(base64.b64encode(tone_wav(0.1)).decode())
            >>> clip.play(sink=f"{tempfile.mkdtemp()}/out.wav")
            800
        """
        from conduit.schema.display import play_audio

        block = self.audio_block
        return play_audio(base64.b64decode(block.data), block.format, sink=sink)


_TYPES: dict[str, type[FrameworkMessage]] = {
    "text": TextMessage,
    "image": ImageMessage,
    "audio": AudioMessage,
}


def as_framework_message(message: Message) -> FrameworkMessage:
    """`message` as the framework type its content calls for (`ImageMessage` when it
    holds an image, `AudioMessage` for audio, else `TextMessage`); one already of a
    framework type is returned as it is.

    Example:
        >>> from conduit.schema import assistant
        >>> type(as_framework_message(assistant("Hi"))).__name__
        'TextMessage'
    """
    if isinstance(message, FrameworkMessage):
        return message
    kinds = {type(b) for b in message.blocks}
    target: type[FrameworkMessage] = (
        ImageMessage
        if ImageBlock in kinds
        else AudioMessage
        if AudioBlock in kinds
        else TextMessage
    )
    return target.model_validate(message.model_dump())
