"""`AzureOpenAIChatModel` and `AzureOpenAIEmbedder`: OpenAI models deployed on Azure.

The OpenAI adapter does the work (the wire format is Chat Completions); this adds
Azure's URLs and credentials (`AzureConnection`) and its content filter: a filtered
prompt or answer raises `ContentFilterError` carrying the flagged categories.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Unpack

from conduit.catalog.registry import describe_model
from conduit.core.protocols import Capabilities, ModelInfo
from conduit.providers.azure.connection import AzureConnection, AzureOptions
from conduit.providers.azure.filters import filter_error
from conduit.providers.openai.model import OpenAIChatModel, OpenAIEmbedder
from conduit.providers.openai.response import parse_chat_response
from conduit.providers.openai.stream import ChunkAssembler
from conduit.providers.registry import ProviderSpec
from conduit.schema import ChatOptions, Done, Message, Response, StreamEvent

__all__ = ["AzureChunkAssembler", "AzureOpenAIChatModel", "AzureOpenAIEmbedder"]


class AzureChunkAssembler(ChunkAssembler):
    """`ChunkAssembler` that also keeps the last `content_filter_results` of choice 0
    (Azure sends them on the chunks; the finishing one says what was filtered).

    Example:
        >>> a = AzureChunkAssembler(provider="azure")
        >>> _ = a.feed({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {},
        ...     "finish_reason": "content_filter",
        ...     "content_filter_results": {"sexual": {"filtered": True, "severity": "high"}}}]})
        >>> a.filter_results
        {'sexual': {'filtered': True, 'severity': 'high'}}
    """

    __slots__ = ("filter_results",)

    def __init__(self, *, provider: str, keep: tuple[str, ...] = ()) -> None:
        super().__init__(provider=provider, keep=keep)
        self.filter_results: Any = None

    def feed(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) == 0 and choice.get("content_filter_results"):
                self.filter_results = choice["content_filter_results"]
        return super().feed(chunk)


class AzureOpenAIChatModel(OpenAIChatModel):
    """Chat with an Azure OpenAI deployment (`"azure/<deployment>"`).

    Example:
        >>> model = AzureOpenAIChatModel("my-gpt4o", api_key="k-1", api_version="2024-10-21",
        ...                              azure_endpoint="https://res.openai.azure.com")
        >>> model.model_info.ref
        'azure/my-gpt4o'
    """

    def __init__(
        self,
        name: str,
        *,
        provider: ProviderSpec | str = "azure",
        capabilities: Capabilities | None = None,
        **connection: Unpack[AzureOptions],
    ) -> None:
        conn = AzureConnection(provider, **connection)
        self._conn = conn
        self._info = describe_model(
            conn.spec.name, name, fallback=Capabilities(vision=True), capabilities=capabilities
        )
        self._url = conn.url(name, "chat/completions")
        self._max_tokens_field = conn.option("max_tokens_field", "max_completion_tokens")
        self._keep = tuple(conn.option("response_fields", ()))
        self._last_assembler: AzureChunkAssembler | None = None

    def _assembler(self) -> ChunkAssembler:
        self._last_assembler = AzureChunkAssembler(provider=self._info.provider, keep=self._keep)
        return self._last_assembler

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        started = time.perf_counter()
        client = self._conn.client
        data = await client.post_json(self._url, self.payload(messages, options, stream=False))
        response = parse_chat_response(
            data,
            provider=self._info.provider,
            duration=time.perf_counter() - started,
            redact=client.redact,
            keep=self._keep,
        )
        if response.stop_reason == "content_filter":
            choice: dict[str, Any] = data["choices"][0]
            raise filter_error(
                choice.get("content_filter_results"), where="answer", provider=self._info.provider
            )
        return response

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        events = super()._stream(messages, options)
        try:
            async for event in events:
                if isinstance(event, Done) and event.response.stop_reason == "content_filter":
                    results = self._last_assembler.filter_results if self._last_assembler else None
                    raise filter_error(results, where="answer", provider=self._info.provider)
                yield event
        finally:
            await events.aclose()  # type: ignore[attr-defined]  # an async generator


class AzureOpenAIEmbedder(OpenAIEmbedder):
    """Embeddings from an Azure OpenAI embedding deployment.

    Example:
        >>> AzureOpenAIEmbedder("my-embed", api_key="k-1", api_version="2024-10-21",
        ...                     azure_endpoint="https://res.openai.azure.com").model_info.name
        'my-embed'
    """

    def __init__(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        provider: ProviderSpec | str = "azure",
        **connection: Unpack[AzureOptions],
    ) -> None:
        conn = AzureConnection(provider, **connection)
        self._conn = conn
        self.dimensions = dimensions
        self._info = ModelInfo(provider=conn.spec.name, name=name)
        self._url = conn.url(name, "embeddings")
