"""`OllamaChatModel` and `OllamaEmbedder`: Ollama's native API (`/api/chat`, `/api/embed`).

Example:
    >>> model = OllamaChatModel("llama3.2")
    >>> model.model_info.ref, model.base_url
    ('ollama/llama3.2', 'http://127.0.0.1:11434')
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Unpack

from conduit.catalog.registry import describe_model
from conduit.core.protocols import BaseChatModel, BaseEmbedder, Capabilities, ModelInfo
from conduit.errors import APIConnectionError
from conduit.providers.ollama.connection import OllamaConnection, OllamaConnectionOptions
from conduit.providers.ollama.request import build_chat_payload
from conduit.providers.ollama.response import parse_chat_response, parse_embeddings, parse_usage
from conduit.providers.ollama.stream import StreamAssembler
from conduit.providers.registry import ProviderSpec
from conduit.schema import ChatOptions, Embeddings, Message, Response, StreamEvent
from conduit.transport import iter_ndjson

__all__ = ["OllamaChatModel", "OllamaEmbedder"]


class OllamaChatModel(BaseChatModel):
    """Chat through a running Ollama (`ollama serve`), locally or on another host.

    Streams are Ollama's newline-delimited JSON; tools, images (base64) and structured
    output (`response_format` → Ollama's `format`) are mapped; `keep_alive`, `think` and
    Modelfile options (`extra={"options": {"num_ctx": 8192}}`) pass through `extra`.

    Example:
        >>> remote = OllamaChatModel("qwen3", base_url="gpu-box:11434")
        >>> remote.base_url
        'http://gpu-box:11434'
    """

    def __init__(
        self,
        name: str,
        *,
        provider: ProviderSpec | str = "ollama",
        capabilities: Capabilities | None = None,
        **connection: Unpack[OllamaConnectionOptions],
    ) -> None:
        self._conn = OllamaConnection(provider, name, **connection)
        self._info = describe_model(
            self._conn.spec.name,
            name,
            fallback=Capabilities(vision=True),
            capabilities=capabilities,
        )

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    @property
    def base_url(self) -> str:
        """Where Ollama runs."""
        return self._conn.base_url

    def payload(
        self, messages: list[Message], options: ChatOptions, *, stream: bool
    ) -> dict[str, Any]:
        """The exact JSON body this model sends (useful for debugging and tests)."""
        return build_chat_payload(self._info.name, messages, options, stream=stream)

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        started = time.perf_counter()
        data = await self._conn.post_json(
            "/api/chat", self.payload(messages, options, stream=False)
        )
        return parse_chat_response(
            data,
            provider=self._info.provider,
            duration=time.perf_counter() - started,
            redact=self._conn.client.redact,
        )

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        started = time.perf_counter()
        provider = self._info.provider
        redact = self._conn.client.redact
        assembler = StreamAssembler(provider=provider)
        response = await self._conn.send(
            "/api/chat", self.payload(messages, options, stream=True), stream=True
        )
        values = iter_ndjson(response, provider=provider, redact=redact)
        try:
            async for value in values:
                if not isinstance(value, dict):
                    raise APIConnectionError(
                        redact(f"a stream line is not an object: {str(value)[:200]!r}"),
                        provider=provider,
                    )
                if assembler.finished:
                    continue  # nothing follows `done` in Ollama's streams; ignore it if it does
                for event in assembler.feed(value):
                    yield event
        finally:
            await values.aclose()  # closes the connection now when the caller stops early
        if not assembler.finished:
            raise APIConnectionError(
                "the stream ended before the answer was complete (no final `done` object)",
                provider=provider,
            )
        yield assembler.done(time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._conn.aclose()


class OllamaEmbedder(BaseEmbedder):
    """Embeddings through Ollama's `/api/embed` (one request for all the texts).

    `dimensions` truncates the vectors (models that support it); `truncate=False` makes
    an input longer than the context an error instead of cut; `keep_alive` says how
    long the model stays loaded.

    Example:
        >>> OllamaEmbedder("all-minilm", dimensions=256).model_info.ref
        'ollama/all-minilm'
    """

    def __init__(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        truncate: bool | None = None,
        keep_alive: float | str | None = None,
        provider: ProviderSpec | str = "ollama",
        **connection: Unpack[OllamaConnectionOptions],
    ) -> None:
        self._conn = OllamaConnection(provider, name, **connection)
        self.dimensions = dimensions
        self.truncate = truncate
        self.keep_alive = keep_alive
        self._info = ModelInfo(provider=self._conn.spec.name, name=name)

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    async def _embed(self, texts: list[str]) -> Embeddings:
        payload: dict[str, Any] = {"model": self._info.name, "input": texts}
        if self.dimensions is not None:
            payload["dimensions"] = self.dimensions
        if self.truncate is not None:
            payload["truncate"] = self.truncate
        if self.keep_alive is not None:
            payload["keep_alive"] = self.keep_alive
        data = await self._conn.post_json("/api/embed", payload)
        vectors = parse_embeddings(
            data, len(texts), provider=self._info.provider, redact=self._conn.client.redact
        )
        return Embeddings(
            vectors=vectors, model=data.get("model") or self._info.name, usage=parse_usage(data)
        )

    async def aclose(self) -> None:
        await self._conn.aclose()
