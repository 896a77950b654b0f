"""What a chat model and an embedder are, and the base classes providers build on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from conduit.core.sync import iterate_sync, run_sync
from conduit.errors import ValidationError
from conduit.schema import (
    ChatOptions,
    Done,
    Embeddings,
    Message,
    MessagesInput,
    Prices,
    Response,
    StreamEvent,
    normalize_messages,
)

__all__ = [
    "BaseChatModel",
    "BaseEmbedder",
    "Capabilities",
    "ChatModel",
    "Embedder",
    "ModelInfo",
    "as_base_model",
    "check_capabilities",
    "make_options",
]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a model can do. `image_output` / `audio_output`: it generates images
    (`conduit.media.generate_image`) or speech (`conduit.media.speak`).

    Example:
        >>> Capabilities(vision=True).tools
        True
    """

    streaming: bool = True
    tools: bool = True
    vision: bool = False
    audio: bool = False
    json_mode: bool = True
    json_schema: bool = True
    image_output: bool = False
    audio_output: bool = False


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Facts about a model: who serves it, its name, limits and capabilities.

    Example:
        >>> ModelInfo(provider="openai", name="gpt-4o-mini").ref
        'openai/gpt-4o-mini'
    """

    provider: str
    name: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    context_window: int | None = None
    max_output_tokens: int | None = None
    prices: Prices | None = None
    """USD per million tokens, from the catalog; None when not known (then answers carry
    no cost)."""

    @property
    def ref(self) -> str:
        """The `provider/name` string that resolves to this model."""
        return f"{self.provider}/{self.name}"


@runtime_checkable
class ChatModel(Protocol):
    """Anything that answers chat messages. Providers, wrappers and fakes all are one."""

    @property
    def model_info(self) -> ModelInfo:
        """Facts about the model."""
        ...

    async def chat(
        self, messages: MessagesInput, options: ChatOptions | None = None, **kwargs: Any
    ) -> Response:
        """One complete answer."""
        ...

    def stream(
        self, messages: MessagesInput, options: ChatOptions | None = None, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        """The answer as events, ending with `Done`."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into vectors."""

    @property
    def model_info(self) -> ModelInfo:
        """Facts about the model."""
        ...

    async def embed(self, texts: str | Sequence[str]) -> Embeddings:
        """One vector per text, in order."""
        ...


_DEFAULT_OPTIONS = ChatOptions()


def make_options(options: ChatOptions | None, kwargs: dict[str, Any]) -> ChatOptions:
    """Options from an object and/or keyword arguments (keywords win).

    Example:
        >>> make_options(None, {"temperature": 0}).temperature
        0.0
    """
    if options is not None and not isinstance(options, ChatOptions):
        if isinstance(options, dict):
            options = ChatOptions(**options)
        else:
            raise ValidationError(
                f"options must be ChatOptions or a dict, not {type(options).__name__}"
            )
    if not kwargs:
        return options if options is not None else _DEFAULT_OPTIONS
    if options is None:
        return ChatOptions(**kwargs)
    return options.merged(**kwargs)


def check_capabilities(info: ModelInfo, messages: list[Message], options: ChatOptions) -> None:
    """Refuse, before anything is sent, what the model is known not to take: images or
    audio, tools, a JSON Schema. Capabilities come from the catalog for models it lists;
    unlisted models are permissive (the provider decides).

    Example:
        >>> from conduit.schema import ImageBlock, user
        >>> info = ModelInfo("local", "tiny", Capabilities(vision=False))
        >>> check_capabilities(info, [user("Hi", ImageBlock(url="https://x/a.png"))],
        ...                    ChatOptions())
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: local/tiny does not take image input...
    """
    caps = info.capabilities
    if not (caps.vision and caps.audio):
        for message in messages:
            if isinstance(message.content, str):
                continue
            for block in message.content:
                if (block.type == "image" and not caps.vision) or (
                    block.type == "audio" and not caps.audio
                ):
                    raise ValidationError(
                        f"{info.ref} does not take {block.type} input; send text, or use a "
                        f"model that does (the catalog lists each model's capabilities)"
                    )
    if options.tools and options.tool_choice != "none" and not caps.tools:
        raise ValidationError(f"{info.ref} does not support tools (function calling)")
    fmt = options.response_format
    if fmt is not None and (
        (fmt.type == "json_schema" and not caps.json_schema)
        or (fmt.type == "json_object" and not caps.json_mode)
    ):
        raise ValidationError(f"{info.ref} does not support response_format {fmt.type!r}")


class BaseChatModel(ABC):
    """Base for chat models: input normalization, validation and the sync twins.

    Subclasses implement `_chat` and `_stream` on already-validated input.
    """

    @property
    @abstractmethod
    def model_info(self) -> ModelInfo:
        """Facts about the model."""

    async def chat(
        self, messages: MessagesInput, options: ChatOptions | None = None, **kwargs: Any
    ) -> Response:
        """Send `messages`, return the whole answer.

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> import asyncio
            >>> asyncio.run(MockModel(["Hi!"]).chat("Hello")).text
            'Hi!'
        """
        normalized, opts = normalize_messages(messages), make_options(options, kwargs)
        info = self.model_info
        check_capabilities(info, normalized, opts)
        answer = self._chat(normalized, opts)
        # From here only `_chat` holds the messages, and a provider may let them go once
        # its request is encoded: with 100 calls in flight, objects kept alive across the
        # wait are what fill the collector's young generation (benchmarks/allocations.py).
        del normalized
        response = await answer
        if response.cost is None and info.prices is not None:
            response.cost = info.prices.cost(response.usage)
        return response

    def stream(
        self, messages: MessagesInput, options: ChatOptions | None = None, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        """Send `messages`, yield the answer as events (`TextDelta`, ..., then `Done`).

        Input is validated here, before iteration starts. Closing the iterator early
        stops the request.

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> import asyncio
            >>> async def main():
            ...     return [e.type async for e in MockModel(["Hi"]).stream("Hello")]
            >>> asyncio.run(main())[-1]
            'done'
        """
        normalized, opts = normalize_messages(messages), make_options(options, kwargs)
        info = self.model_info
        check_capabilities(info, normalized, opts)
        if info.prices is None:
            return self._stream(normalized, opts)
        return _priced(self._stream(normalized, opts), info.prices)

    def chat_sync(
        self, messages: MessagesInput, options: ChatOptions | None = None, **kwargs: Any
    ) -> Response:
        """`chat` for synchronous code (scripts, threads, Jupyter)."""
        return run_sync(self.chat(messages, options, **kwargs))

    def stream_sync(
        self, messages: MessagesInput, options: ChatOptions | None = None, **kwargs: Any
    ) -> Iterator[StreamEvent]:
        """`stream` for synchronous code."""
        return iterate_sync(self.stream(messages, options, **kwargs))

    @abstractmethod
    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        """Answer validated messages."""

    @abstractmethod
    def _stream(self, messages: list[Message], options: ChatOptions) -> AsyncIterator[StreamEvent]:
        """Stream an answer to validated messages."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections held by this model (on the current event loop)."""

    def close(self) -> None:
        """`aclose` for synchronous code (closes the sync bridge's pool)."""
        run_sync(self.aclose())

    async def __aenter__(self) -> BaseChatModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_info.ref!r})"


class _Adapted(BaseChatModel):
    """A model that has only the `ChatModel` protocol's methods, given the base class's
    sync twins and input checks."""

    def __init__(self, model: ChatModel) -> None:
        self._model = model

    @property
    def model_info(self) -> ModelInfo:
        return self._model.model_info

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        return await self._model.chat(messages, options)

    def _stream(self, messages: list[Message], options: ChatOptions) -> AsyncIterator[StreamEvent]:
        return self._model.stream(messages, options)

    async def aclose(self) -> None:
        aclose = getattr(self._model, "aclose", None)
        if aclose is not None:
            await aclose()


def as_base_model(model: ChatModel) -> BaseChatModel:
    """`model` as a `BaseChatModel` (with `chat_sync`, `stream_sync`, ...): itself when it
    is one, else wrapped. The resolver does this for every model it builds, so a
    provider plugin that implements only the protocol still gets the twins.

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> model = MockModel(["hi"])
        >>> as_base_model(model) is model
        True
    """
    return model if isinstance(model, BaseChatModel) else _Adapted(model)


async def _priced(events: AsyncIterator[StreamEvent], prices: Prices) -> AsyncIterator[StreamEvent]:
    """The stream with its final answer's `cost` filled in from `prices`."""
    try:
        async for event in events:
            if type(event) is Done and event.response.cost is None:
                event.response.cost = prices.cost(event.response.usage)
            yield event
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


class BaseEmbedder(ABC):
    """Base for embedders: input normalization and the sync twin."""

    @property
    @abstractmethod
    def model_info(self) -> ModelInfo:
        """Facts about the model."""

    async def embed(self, texts: str | Sequence[str]) -> Embeddings:
        """One vector per text, in input order.

        Example:
            >>> from conduit.providers.fake import HashEmbedder
            >>> import asyncio
            >>> len(asyncio.run(HashEmbedder(dimensions=8).embed(["a", "b"])))
            2
        """
        items = [texts] if isinstance(texts, str) else list(texts)
        if not items:
            raise ValidationError("embed() needs at least one text")
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise ValidationError(f"embed() takes strings; item {i} is {type(item).__name__}")
        return await self._embed(items)

    def embed_sync(self, texts: str | Sequence[str]) -> Embeddings:
        """`embed` for synchronous code."""
        return run_sync(self.embed(texts))

    @abstractmethod
    async def _embed(self, texts: list[str]) -> Embeddings:
        """Embed validated texts."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections held by this embedder."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_info.ref!r})"
