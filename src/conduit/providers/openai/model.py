"""`OpenAIChatModel` and `OpenAIEmbedder`: OpenAI's API and every compatible server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Unpack

from conduit import _json
from conduit.catalog.registry import describe_model
from conduit.core.protocols import BaseChatModel, BaseEmbedder, Capabilities, ModelInfo
from conduit.errors import APIConnectionError
from conduit.providers.openai.connection import ConnectionOptions, OpenAIConnection
from conduit.providers.openai.request import build_chat_payload
from conduit.providers.openai.response import parse_chat_response, parse_usage
from conduit.providers.openai.stream import ChunkAssembler
from conduit.providers.registry import ProviderSpec
from conduit.schema import ChatOptions, Embeddings, Message, Response, StreamEvent
from conduit.transport import Redactor, SSEEvent
from conduit.transport.errors import error_for_event

__all__ = ["OpenAIChatModel", "OpenAIEmbedder"]


class OpenAIChatModel(BaseChatModel):
    """Chat through OpenAI's Chat Completions API, or any server that speaks it.

    Example:
        >>> model = OpenAIChatModel("gpt-4o-mini", api_key="sk-test")  # OpenAI
        >>> # llama.cpp, vLLM, ...:
        >>> local = OpenAIChatModel("qwen", base_url="http://127.0.0.1:8080/v1")
        >>> local.model_info.ref
        'openai/qwen'
    """

    def __init__(
        self,
        name: str,
        *,
        provider: ProviderSpec | str = "openai",
        capabilities: Capabilities | None = None,
        **connection: Unpack[ConnectionOptions],
    ) -> None:
        self._conn = OpenAIConnection(provider, **connection)
        self._info = describe_model(
            self._conn.spec.name,
            name,
            fallback=Capabilities(vision=True, audio=True),
            capabilities=capabilities,
        )
        self._url = f"{self._conn.base_url}/chat/completions"
        self._max_tokens_field: str = self._conn.option("max_tokens_field", "max_tokens")
        # Vendor additions to the answer to keep in `Response.provider_data` (registry data).
        self._keep: tuple[str, ...] = tuple(self._conn.option("response_fields", ()))

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._conn.base_url

    def payload(
        self, messages: list[Message], options: ChatOptions, *, stream: bool
    ) -> dict[str, Any]:
        """The exact JSON body this model sends (useful for debugging and tests)."""
        return build_chat_payload(
            self._info.name,
            messages,
            options,
            stream=stream,
            max_tokens_field=self._max_tokens_field,
        )

    async def send_payload(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST an OpenAI-shaped Chat Completions body as it is (with this model's name)
        and return the answer's JSON as it came: what a gateway forwarding OpenAI's own
        wire format needs. Errors are Conduit's typed errors, as for `chat()`."""
        data: dict[str, Any] = await self._conn.client.post_json(
            self._url, {**payload, "model": self._info.name, "stream": False}
        )
        return data

    async def send_payload_bytes(self, payload: Mapping[str, Any]) -> bytes:
        """`send_payload`, with the answer's body as it came (not parsed): what a gateway
        that passes it on needs."""
        return await self._conn.client.post_bytes(
            self._url, {**payload, "model": self._info.name, "stream": False}
        )

    def stream_payload_frames(self, payload: Mapping[str, Any]) -> AsyncIterator[bytes]:
        """`stream_payload`, with the answer's events as bytes, whole events at a time
        (`HTTPClient.stream_sse_frames`): what a gateway that passes them on needs."""
        return self._conn.client.stream_sse_frames(
            self._url,
            {
                **payload,
                "model": self._info.name,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )

    def stream_payload(self, payload: Mapping[str, Any]) -> AsyncIterator[SSEEvent]:
        """Stream an OpenAI-shaped Chat Completions body as it is (with this model's name,
        usage asked for) and yield the answer's server-sent events as they came."""
        return self._conn.client.stream_sse(
            self._url,
            {
                **payload,
                "model": self._info.name,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )

    def _assembler(self) -> ChunkAssembler:
        """A hook: the stream's chunk assembler (Azure's also reads filter results)."""
        return ChunkAssembler(provider=self._info.provider, keep=self._keep)

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        started = time.perf_counter()
        sending = self._conn.client.post_json(
            self._url, self.payload(messages, options, stream=False)
        )
        # The request is built: neither the messages nor the payload (which `post_json`
        # drops once encoded) stay alive across the wait (see BaseChatModel.chat).
        del messages
        data = await sending
        return parse_chat_response(
            data,
            provider=self._info.provider,
            duration=time.perf_counter() - started,
            redact=self._conn.client.redact,
            keep=self._keep,
        )

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        started = time.perf_counter()
        assembler = self._assembler()
        loads = _json.loads
        events = self._conn.client.stream_sse(
            self._url, self.payload(messages, options, stream=True)
        )
        del messages  # the request is built: not kept alive for the whole stream
        try:
            async for event in events:
                try:
                    chunk = loads(event.data)
                except _json.JSONDecodeError:
                    chunk = None
                if not isinstance(chunk, dict):
                    raise APIConnectionError(
                        self._conn.client.redact(f"malformed stream chunk: {event.data[:200]!r}"),
                        provider=self._info.provider,
                    )
                if chunk.get("error"):
                    # The transport catches `data: {"error"...` by its prefix; a server that
                    # spaces or orders its JSON differently lands here (the official SDK, too,
                    # checks the parsed chunk for an `error` key).
                    raise error_for_event(
                        self._conn.client.redact(event.data),
                        provider=self._info.provider,
                        redactor=Redactor(),
                    )
                for out in assembler.feed(chunk):
                    yield out
        finally:
            # Closing our stream early closes the HTTP response now, not when the loop
            # gets round to finalizing an abandoned generator.
            await events.aclose()
        if not assembler.finished:
            raise APIConnectionError(
                "the stream ended before the answer was complete (no finish_reason)",
                provider=self._info.provider,
            )
        yield assembler.done(time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._conn.aclose()


class OpenAIEmbedder(BaseEmbedder):
    """Embeddings through OpenAI's `/embeddings` endpoint, or a compatible server's.

    Example:
        >>> embedder = OpenAIEmbedder("text-embedding-3-small", api_key="sk-test", dimensions=256)
    """

    def __init__(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        provider: ProviderSpec | str = "openai",
        **connection: Unpack[ConnectionOptions],
    ) -> None:
        self._conn = OpenAIConnection(provider, **connection)
        self.dimensions = dimensions
        self._info = ModelInfo(provider=self._conn.spec.name, name=name)
        self._url = f"{self._conn.base_url}/embeddings"

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    async def _embed(self, texts: list[str]) -> Embeddings:
        payload: dict[str, Any] = {
            "model": self._info.name,
            "input": texts,
            "encoding_format": "float",
        }
        if self.dimensions is not None:
            payload["dimensions"] = self.dimensions
        data = await self._conn.client.post_json(self._url, payload)
        try:
            items = sorted(data["data"], key=lambda item: item.get("index", 0))
            vectors = [item["embedding"] for item in items]
        except (KeyError, TypeError, AttributeError):
            raise APIConnectionError(
                self._conn.client.redact(
                    f"the answer is not an embeddings list: {str(data)[:200]!r}"
                ),
                provider=self._info.provider,
            ) from None
        if len(vectors) != len(texts):
            raise APIConnectionError(
                f"asked for {len(texts)} embeddings, got {len(vectors)}",
                provider=self._info.provider,
            )
        return Embeddings(
            vectors=vectors,
            model=data.get("model") or self._info.name,
            usage=parse_usage(data.get("usage")),
        )

    async def aclose(self) -> None:
        await self._conn.aclose()
