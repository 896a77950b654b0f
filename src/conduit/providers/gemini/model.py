"""`GeminiChatModel` and `GeminiEmbedder`: Google's Gemini API.

Chat goes to `models/{model}:generateContent`, streaming to
`:streamGenerateContent?alt=sse`; embeddings to `:embedContent` for one text and
`:batchEmbedContents` for several (https://ai.google.dev/api/embeddings), at most 100
texts a request, in order.

Example:
    >>> model = GeminiChatModel("gemini-2.5-flash", api_key="test-key")
    >>> model.model_info.ref
    'gemini/gemini-2.5-flash'
    >>> GeminiEmbedder("text-embedding-004", api_key="test-key", dimensions=256).dimensions
    256
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Unpack

from conduit import _json
from conduit.catalog.registry import describe_model
from conduit.core.protocols import BaseChatModel, BaseEmbedder, Capabilities, ModelInfo
from conduit.errors import APIConnectionError, ProviderError
from conduit.providers.gemini.calls import CallMemory
from conduit.providers.gemini.connection import GeminiConnection, GeminiOptions
from conduit.providers.gemini.errors import refine_error
from conduit.providers.gemini.request import build_generate_payload
from conduit.providers.gemini.response import parse_generate_response, parse_usage
from conduit.providers.gemini.stream import StreamAssembler
from conduit.providers.registry import ProviderSpec
from conduit.schema import ChatOptions, Embeddings, Message, Response, StreamEvent, Usage

__all__ = ["BATCH_LIMIT", "GeminiChatModel", "GeminiEmbedder"]

# batchEmbedContents takes at most 100 requests.
BATCH_LIMIT = 100


class GeminiChatModel(BaseChatModel):
    """Chat through Gemini's `generateContent` API.

    The model remembers the thought signatures of the tool calls it returned (a bounded
    `CallMemory`) and sends them back with the conversation, as Gemini 3 requires.

    Example:
        >>> from conduit.schema import user
        >>> model = GeminiChatModel("gemini-2.5-flash", api_key="test-key")
        >>> body = model.payload([user("Hi")], ChatOptions(max_tokens=5))
        >>> body["contents"], body["generationConfig"]
        ([{'role': 'user', 'parts': [{'text': 'Hi'}]}], {'maxOutputTokens': 5})
    """

    def __init__(
        self,
        name: str,
        *,
        provider: ProviderSpec | str = "gemini",
        capabilities: Capabilities | None = None,
        **connection: Unpack[GeminiOptions],
    ) -> None:
        self._conn = GeminiConnection(provider, **connection)
        self._info = describe_model(
            self._conn.spec.name,
            name,
            fallback=Capabilities(vision=True, audio=True),
            capabilities=capabilities,
        )
        self._url = self._conn.model_url(name, "generateContent")
        self._stream_url = self._conn.model_url(name, "streamGenerateContent") + "?alt=sse"
        self.calls = CallMemory()

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._conn.base_url

    def payload(self, messages: list[Message], options: ChatOptions) -> dict[str, Any]:
        """The exact JSON body this model sends (the same for streaming)."""
        return build_generate_payload(messages, options, memory=self.calls)

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        started = time.perf_counter()
        payload = self.payload(messages, options)
        data = await self._conn.client.post_json(self._url, payload)
        return parse_generate_response(
            data,
            provider=self._info.provider,
            duration=time.perf_counter() - started,
            redact=self._conn.client.redact,
            memory=self.calls,
        )

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        started = time.perf_counter()
        payload = self.payload(messages, options)
        assembler = StreamAssembler(provider=self._info.provider, memory=self.calls)
        client = self._conn.client
        loads = _json.loads
        events = client.stream_sse(self._stream_url, payload)
        try:
            while True:
                failure: ProviderError | None = None
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    break
                except ProviderError as exc:
                    # An error event inside the stream: read its Google body.
                    failure = refine_error(exc)
                if failure is not None:
                    raise failure
                try:
                    chunk = loads(event.data)
                except _json.JSONDecodeError:
                    chunk = None
                if not isinstance(chunk, dict):
                    raise APIConnectionError(
                        client.redact(f"malformed stream chunk: {event.data[:200]!r}"),
                        provider=self._info.provider,
                    )
                try:
                    out = assembler.feed(chunk)
                except TypeError as exc:
                    raise APIConnectionError(
                        client.redact(f"malformed stream chunk ({exc}): {event.data[:200]!r}"),
                        provider=self._info.provider,
                    ) from None
                for item in out:
                    yield item
        finally:
            await events.aclose()
        if not assembler.finished:
            raise APIConnectionError(
                "the stream ended before the answer was complete (no finishReason)",
                provider=self._info.provider,
            )
        for item in assembler.finish(time.perf_counter() - started):
            yield item

    async def aclose(self) -> None:
        await self._conn.aclose()


class GeminiEmbedder(BaseEmbedder):
    """Embeddings through Gemini's `embedContent` / `batchEmbedContents`.

    `dimensions` sets `outputDimensionality`; `task_type` (`RETRIEVAL_DOCUMENT`,
    `RETRIEVAL_QUERY`, `SEMANTIC_SIMILARITY`, ...) tells the model what the vectors
    are for.

    Example:
        >>> GeminiEmbedder("gemini-embedding-001", api_key="test-key",
        ...                task_type="RETRIEVAL_QUERY").task_type
        'RETRIEVAL_QUERY'
    """

    def __init__(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        task_type: str | None = None,
        provider: ProviderSpec | str = "gemini",
        **connection: Unpack[GeminiOptions],
    ) -> None:
        self._conn = GeminiConnection(provider, **connection)
        self.dimensions = dimensions
        self.task_type = task_type
        self._info = ModelInfo(provider=self._conn.spec.name, name=name)
        self._resource = name if "/" in name else f"models/{name}"
        self._one_url = self._conn.model_url(name, "embedContent")
        self._batch_url = self._conn.model_url(name, "batchEmbedContents")

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    def request(self, text: str, *, batch: bool) -> dict[str, Any]:
        """One `EmbedContentRequest` (in a batch, it names the model too)."""
        body: dict[str, Any] = {}
        if batch:
            body["model"] = self._resource
        body["content"] = {"parts": [{"text": text}]}
        if self.task_type:
            body["taskType"] = self.task_type
        if self.dimensions is not None:
            body["outputDimensionality"] = self.dimensions
        return body

    def _malformed(self, data: Any) -> APIConnectionError:
        return APIConnectionError(
            self._conn.client.redact(f"the answer is not an embedding: {str(data)[:200]!r}"),
            provider=self._info.provider,
        )

    @staticmethod
    def _values(item: Any) -> list[float]:
        values = item["values"]
        if not isinstance(values, list):
            raise TypeError
        return values

    async def _embed(self, texts: list[str]) -> Embeddings:
        client = self._conn.client
        if len(texts) == 1:
            data = await client.post_json(self._one_url, self.request(texts[0], batch=False))
            try:
                vectors = [self._values(data["embedding"])]
            except (KeyError, TypeError):
                raise self._malformed(data) from None
            usage = parse_usage(data.get("usageMetadata"))
        else:
            vectors = []
            usage = Usage()
            # Sequential: the order is kept, and one failure stops the rest.
            for start in range(0, len(texts), BATCH_LIMIT):
                chunk = texts[start : start + BATCH_LIMIT]
                data = await client.post_json(
                    self._batch_url,
                    {"requests": [self.request(text, batch=True) for text in chunk]},
                )
                try:
                    got = [self._values(item) for item in data["embeddings"]]
                except (KeyError, TypeError):
                    raise self._malformed(data) from None
                if len(got) != len(chunk):
                    raise APIConnectionError(
                        f"asked for {len(chunk)} embeddings, got {len(got)}",
                        provider=self._info.provider,
                    )
                vectors.extend(got)
                usage = usage + parse_usage(data.get("usageMetadata"))
        return Embeddings(vectors=vectors, model=self._info.name, usage=usage)

    async def aclose(self) -> None:
        await self._conn.aclose()
