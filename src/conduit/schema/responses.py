"""What a model returns: content, tool calls, a normalized stop reason and usage.

A model's answer holds content blocks. The framework face (`Model.query`) also hands out
answers whose `content` is the text itself (a `str`) or, for a parsed answer, the Pydantic
object (or a list of them): the same `Response`, with `text`, `blocks`, `to_message()`
reading every form. Parsed objects come back from a cache dict through
`RESPONSE_MODELS`, the registry of response model classes (`Parser(...)` adds to it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
from pydantic import BaseModel, Field, PlainSerializer, PlainValidator, model_validator

from conduit.errors import ValidationError
from conduit.schema.base import SchemaModel
from conduit.schema.content import AudioBlock, ContentBlock, ImageBlock, TextBlock
from conduit.schema.messages import Message
from conduit.schema.tools import ToolCall

if TYPE_CHECKING:
    from conduit.schema.display import AudioSink

__all__ = [
    "ParsedContent",
    "Prices",
    "RESPONSE_MODELS",
    "Response",
    "StopReason",
    "Usage",
    "register_response_model",
]

StopReason = Literal[
    "end_turn", "tool_use", "max_tokens", "stop_sequence", "content_filter", "repetition"
]
"""Why an answer ended; "repetition": a local model's loop guard ended an answer that
kept repeating itself."""

RESPONSE_MODELS: list[type[BaseModel]] = []
"""The response model classes a parsed answer may hold, by class name: how
`Response.from_cache_dict` turns stored JSON back into objects. `Parser(Model)` adds
`Model` (the framework's `Parser._response_models` is this list)."""


def register_response_model(model: type[BaseModel]) -> type[BaseModel]:
    """Add a Pydantic model class to `RESPONSE_MODELS` (once); returns it, so it also works
    as a class decorator.

    Example:
        >>> class Pet(BaseModel):
        ...     name: str
        >>> register_response_model(Pet) is Pet, Pet in RESPONSE_MODELS
        (True, True)
    """
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ValidationError(f"a response model is a Pydantic model class, not {model!r}")
    if model not in RESPONSE_MODELS:
        RESPONSE_MODELS.append(model)
    return model


def _check_parsed(value: Any) -> Any:
    # Objects only: a dict here would let a malformed wire answer through unnoticed.
    if isinstance(value, BaseModel):
        return value
    if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
        return value
    raise ValueError(
        "content is a list of content blocks, a string, or a parsed Pydantic object "
        f"(or a list of them), not {type(value).__name__}"
    )


def _dump_parsed(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    return value


ParsedContent = Annotated[
    Any, PlainValidator(_check_parsed), PlainSerializer(_dump_parsed, when_used="always")
]
"""A parsed answer: a Pydantic object or a list of them (plain JSON objects once dumped;
`Response.from_cache_dict` makes them objects again, by class name)."""


class Usage(SchemaModel):
    """Token counts, normalized across providers.

    `total_tokens` defaults to input + output. Cache counts are part of `input_tokens`
    where the provider reports them that way (OpenAI) and are shown separately here.

    Example:
        >>> Usage(input_tokens=10, output_tokens=5).total_tokens
        15
        >>> (Usage(input_tokens=1, output_tokens=1) + Usage(input_tokens=2)).total_tokens
        4
    """

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    total_tokens: int = Field(default=0, ge=0)
    cache_read_tokens: int = Field(default=0, ge=0)
    cache_creation_tokens: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _total(self) -> Usage:
        if not self.total_tokens:
            self.total_tokens = self.input_tokens + self.output_tokens
        return self

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):  # checked: callers are not always type-checked
            return NotImplemented
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
        )

    def __radd__(self, other: int) -> Usage:
        # `sum(usages)` starts from 0.
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented


@dataclass(frozen=True, slots=True)
class Prices:
    """A model's prices in US dollars per million tokens; None: not known.

    The one place a cost is computed: the catalog gives each model its `Prices`, models
    put `prices.cost(usage)` in `Response.cost`, and every ledger, budget and face reads
    that (or, with only a usage in hand, `conduit.catalog.cost_of`, which calls this).

    Example:
        >>> prices = Prices(input=2.0, output=8.0, cached_input=0.5)
        >>> prices.cost(Usage(input_tokens=2_000_000, cache_read_tokens=1_000_000))
        2.5
        >>> Prices(output=8.0).cost(Usage(input_tokens=5)) is None
        True
    """

    input: float | None = None
    output: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None

    def cost(self, usage: Usage) -> float | None:
        """USD for `usage`, or None when a price it needs is not known.

        Cached input tokens cost `cached_input`, tokens written to a prompt cache
        `cache_write`, the rest of the input `input` (cache counts are part of
        `Usage.input_tokens`). Without a cache price those tokens cost the input price:
        an upper bound.
        """
        if self.input is None and self.output is None:
            return None
        cached = usage.cache_read_tokens
        written = usage.cache_creation_tokens
        fresh = max(usage.input_tokens - cached - written, 0)
        total = 0.0
        for tokens, price in (
            (fresh, self.input),
            (cached, self.input if self.cached_input is None else self.cached_input),
            (written, self.input if self.cache_write is None else self.cache_write),
            (usage.output_tokens, self.output),
        ):
            if tokens:
                if price is None:
                    return None
                total += tokens * price
        return total / 1_000_000

    def worst_case(self, input_tokens: int, output_tokens: int) -> float | None:
        """The most a call with these token counts can cost (no cache discounts), for
        reserving a budget before the call; None when a price is not known.

        Example:
            >>> Prices(input=1.0, output=2.0).worst_case(1_000_000, 500_000)
            2.0
        """
        return self.cost(Usage(input_tokens=input_tokens, output_tokens=output_tokens))


class Response(SchemaModel):
    """One complete answer from a model.

    `content` is what the model said: content blocks as a model returns them, or (from
    the framework face) the text as a `str`, or the parsed Pydantic object(s).
    `request_messages`, when known, are the messages that were sent (`prompt` and
    `messages` read them); they are not part of the JSON dump.

    Example:
        >>> r = Response(id="r1", content=[TextBlock(text="Hello")], stop_reason="end_turn")
        >>> r.text, r.extract_content()
        ('Hello', 'Hello')
        >>> Response(content="Hi", request_messages=[Message(role="user", content="Hey")]).prompt
        'Hey'
    """

    id: str = ""
    model: str = ""
    provider: str | None = None
    content: list[ContentBlock] | str | ParsedContent = Field(
        default_factory=list, union_mode="left_to_right"
    )
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop_reason: StopReason | None = None
    usage: Usage = Field(default_factory=Usage)
    duration: float | None = Field(default=None, description="seconds from request to answer")
    cost: float | None = Field(
        default=None,
        ge=0,
        description="what the answer cost in US dollars (the catalog's prices times the "
        "usage); None when the model's prices are not known, 0.0 for a cached answer",
    )
    provider_data: dict[str, Any] = Field(
        default_factory=dict,
        description="provider-specific fields of the answer kept as sent, e.g. Perplexity's "
        "`citations` and `search_results`",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="what interceptors learned about this call: `attempts`, `cache_hit`, "
        "... (see conduit.interceptors)",
    )

    request_messages: list[Message] | None = Field(default=None, exclude=True, repr=False)

    @property
    def text(self) -> str:
        """All text blocks joined (a parsed answer: its JSON)."""
        content = self.content
        if isinstance(content, str):
            return content
        if isinstance(content, list) and all(_is_block(b) for b in content):
            return "".join(b.text for b in content if isinstance(b, TextBlock))
        return orjson.dumps(_dump_parsed(content)).decode()

    @property
    def blocks(self) -> list[ContentBlock]:
        """The content as content blocks (a string or a parsed answer: one text block).

        Example:
            >>> Response(content="Hi").blocks
            [TextBlock(type='text', text='Hi')]
        """
        content = self.content
        if isinstance(content, list) and all(_is_block(b) for b in content):
            return list(content)
        text = self.text
        return [TextBlock(text=text)] if text else []

    @property
    def parsed(self) -> Any:
        """The parsed object(s) of a parsed answer, else None.

        Example:
            >>> class Pet(BaseModel):
            ...     name: str
            >>> Response(content=Pet(name="Rex")).parsed
            Pet(name='Rex')
        """
        content = self.content
        if isinstance(content, str) or (
            isinstance(content, list) and all(_is_block(b) for b in content)
        ):
            return None
        return content

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens (`usage.total_tokens`)."""
        return self.usage.total_tokens

    @property
    def prompt(self) -> str | None:
        """The text of the last user message sent, when the request is known.

        Example:
            >>> Response(content="4").prompt is None
            True
        """
        for message in reversed(self.request_messages or ()):
            if message.role == "user":
                return message.text
        return None

    @property
    def messages(self) -> list[Message]:
        """The conversation: the messages sent (when known), then this answer.

        Example:
            >>> [m.role for m in Response(content="4").messages]
            ['assistant']
        """
        return [*(self.request_messages or ()), self.to_message()]

    def extract_content(self) -> str:
        """The answer's text (the same as `.text`); empty when the model only called tools."""
        return self.text

    def to_message(self) -> Message:
        """This answer as an assistant message, to append to the conversation.

        Example:
            >>> Response(content=[TextBlock(text="Hi")]).to_message().role
            'assistant'
        """
        content = self.content
        body: str | list[ContentBlock] = content if isinstance(content, str) else self.blocks
        return Message(role="assistant", content=body, tool_calls=list(self.tool_calls))

    def display(
        self, *, out: Any = None, size: tuple[int, int] | None = None, chafa: str = "chafa"
    ) -> None:
        """Show the answer's images in the terminal through `chafa` (or, without it, one
        line each with its type and size); an answer with no image says so in one line.
        Never raises. See `conduit.schema.display.show_image`.

        Example:
            >>> import io
            >>> out = io.StringIO()
            >>> Response(content="just text").display(out=out)
            >>> out.getvalue()
            '[no image in this answer]\\n'
        """
        import base64
        import sys

        from conduit.schema.display import describe_image, show_image

        stream = out if out is not None else sys.stdout
        images = [b for b in self.blocks if isinstance(b, ImageBlock)]
        if not images:
            stream.write("[no image in this answer]\n")
            return
        for image in images:
            media_type = image.media_type or "image"
            if image.data is None:
                stream.write(describe_image(b"", media_type, f"at {image.url}") + "\n")
                continue
            show_image(base64.b64decode(image.data), media_type, out=stream, size=size, chafa=chafa)

    def play(self, *, sink: AudioSink | str | os.PathLike[str] | None = None) -> int:
        """Play the answer's audio (the default output device, or `sink`: a `.wav` path
        or any `AudioSink`); returns the frames played. Needs miniaudio
        (`pip install "conduit[audio]"`); `ValidationError` when there is no audio.

        Example:
            >>> import base64, tempfile
            >>> from conduit.media.fake import tone_wav
            >>> clip = AudioBlock(data=base64.b64encode(tone_wav(0.1)).decode(), format="wav")
            >>> Response(content=[clip]).play(sink=f"{tempfile.mkdtemp()}/out.wav")
            800
        """
        import base64

        from conduit.schema.display import play_audio

        clips = [b for b in self.blocks if isinstance(b, AudioBlock)]
        if not clips:
            raise ValidationError("this answer holds no audio to play")
        return sum(play_audio(base64.b64decode(c.data), c.format, sink=sink) for c in clips)

    def to_cache_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that `from_cache_dict` turns back into this answer, parsed
        objects (by class name, see `RESPONSE_MODELS`) and request messages included.

        Example:
            >>> again = Response.from_cache_dict(Response(content="hi").to_cache_dict())
            >>> again.content
            'hi'
        """
        data = self.model_dump(mode="json")
        content = self.content
        kind, name = "blocks", None
        if isinstance(content, str):
            kind = "text"
        elif isinstance(content, BaseModel):
            kind, name = "model", type(content).__name__
        elif self.parsed is not None:
            kind = "model_list"
            first = next((v for v in content if isinstance(v, BaseModel)), None)
            name = type(first).__name__ if first is not None else None
        return {
            "response": data,
            "content_type": kind,
            "response_model": name,
            "request_messages": None
            if self.request_messages is None
            else [m.model_dump(mode="json", exclude_none=True) for m in self.request_messages],
        }

    @classmethod
    def from_cache_dict(cls, cache_dict: dict[str, Any]) -> Response:
        """The answer `to_cache_dict` stored. A parsed answer's class is looked up by
        name in `RESPONSE_MODELS`; when it is not there, the content is the answer's JSON
        text.

        Example:
            >>> class Pet(BaseModel):
            ...     name: str
            >>> _ = register_response_model(Pet)
            >>> stored = Response(content=[Pet(name="Rex")]).to_cache_dict()
            >>> Response.from_cache_dict(stored).content
            [Pet(name='Rex')]
        """
        try:
            data = dict(cache_dict["response"])
            kind = cache_dict.get("content_type", "blocks")
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"not a Response cache dict: {exc!r}") from None
        name = cache_dict.get("response_model")
        model = next((m for m in reversed(RESPONSE_MODELS) if m.__name__ == name), None)
        if model is not None and kind == "model":
            data["content"] = model.model_validate(data["content"])
        elif model is not None and kind == "model_list":
            data["content"] = [model.model_validate(v) for v in data["content"]]
        elif kind in ("model", "model_list"):
            data["content"] = orjson.dumps(data["content"]).decode()
        stored = cache_dict.get("request_messages")
        if stored is not None:
            data["request_messages"] = [Message.model_validate(m) for m in stored]
        return cls.model_validate(data)


def _is_block(value: object) -> bool:
    return isinstance(value, TextBlock | ImageBlock | AudioBlock)
