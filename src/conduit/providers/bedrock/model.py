"""`BedrockChatModel` and `BedrockEmbedder`: every Bedrock model family through one API.

Chat goes to Converse (`POST /model/{modelId}/converse`) and streaming to
ConverseStream (`/converse-stream`, answered in the AWS event-stream framing); the model
id may be a foundation model (`anthropic.claude-3-5-haiku-20241022-v1:0`) or a
cross-region inference profile (`us.amazon.nova-pro-v1:0`). Embeddings go to
InvokeModel for Titan and Cohere embedding models.

Example:
    >>> model = BedrockChatModel("us.amazon.nova-lite-v1:0", region="us-east-1",
    ...     aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
    >>> model.model_info.ref, model.model_info.capabilities.vision
    ('bedrock/us.amazon.nova-lite-v1:0', True)
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any, Unpack

from conduit import _json
from conduit.catalog.registry import describe_model
from conduit.core.protocols import BaseChatModel, BaseEmbedder, Capabilities, ModelInfo
from conduit.errors import APIConnectionError, ValidationError
from conduit.providers.anthropic.request import json_output
from conduit.providers.bedrock.connection import BedrockConnection, BedrockOptions
from conduit.providers.bedrock.eventstream import EventStreamDecoder
from conduit.providers.bedrock.request import build_converse_payload
from conduit.providers.bedrock.response import parse_converse_response
from conduit.providers.bedrock.stream import StreamAssembler, exception_error
from conduit.providers.registry import ProviderSpec
from conduit.schema import ChatOptions, Embeddings, Message, Response, StreamEvent, Usage
from conduit.transport import HTTPRequest

__all__ = ["BedrockChatModel", "BedrockEmbedder", "family_capabilities"]

_PROFILE = re.compile(r"^(us|eu|apac|us-gov|jp|au|ca|global)\.")
# Families whose Converse support lacks tool use or image input (Bedrock user guide,
# "Supported models and model features" of the Converse API).
_NO_TOOLS = re.compile(
    r"^(anthropic\.claude-(v2|instant)|amazon\.titan-text|meta\.llama2|meta\.llama3-(8b|70b)-"
    r"|mistral\.(mistral-7b|mixtral)|cohere\.command-(text|light)|deepseek\.r1|ai21\.j2)"
)
_VISION = re.compile(
    r"^(anthropic\.claude-(3-(?!5-haiku)|sonnet-4|opus-4|haiku-4)|amazon\.nova-(pro|lite|premier)"
    r"|meta\.llama3-2-(11b|90b)|meta\.llama4|mistral\.pixtral)"
)


def family_capabilities(model_id: str) -> Capabilities:
    """What a Bedrock model can do through Converse, from its family (region prefixes
    of inference profiles ignored).

    Example:
        >>> family_capabilities("meta.llama2-70b-chat-v1").tools
        False
        >>> family_capabilities("eu.anthropic.claude-3-7-sonnet-20250219-v1:0").vision
        True
        >>> family_capabilities("anthropic.claude-3-5-haiku-20241022-v1:0").vision
        False
    """
    base = _PROFILE.sub("", model_id)
    return Capabilities(
        tools=not _NO_TOOLS.match(base),
        vision=bool(_VISION.match(base)),
        json_mode=not _NO_TOOLS.match(base),
        json_schema=not _NO_TOOLS.match(base),
    )


class BedrockChatModel(BaseChatModel):
    """Chat with any Bedrock model through the Converse API (`"bedrock/<model-id>"`).

    A model known not to take tools or images is refused before the request (its
    capabilities come from the catalog, else from its family).

    Example:
        >>> m = BedrockChatModel("meta.llama2-13b-chat-v1", region="us-east-1",
        ...     aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
        >>> m.model_info.capabilities.tools
        False
    """

    def __init__(
        self,
        name: str,
        *,
        provider: ProviderSpec | str = "bedrock",
        capabilities: Capabilities | None = None,
        **connection: Unpack[BedrockOptions],
    ) -> None:
        if not name:
            raise ValidationError("Bedrock needs a model id, e.g. bedrock/amazon.nova-lite-v1:0")
        self._conn = BedrockConnection(provider, **connection)
        self._info = describe_model(
            self._conn.spec.name,
            name,
            fallback=family_capabilities(name),
            capabilities=capabilities,
        )
        self._url = self._conn.model_url(name, "converse")
        self._stream_url = self._conn.model_url(name, "converse-stream")

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    @property
    def base_url(self) -> str:
        """The Bedrock Runtime endpoint requests go to."""
        return self._conn.base_url

    def payload(self, messages: list[Message], options: ChatOptions) -> dict[str, Any]:
        """The exact JSON body this model sends (the same for streaming)."""
        return build_converse_payload(messages, options)

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        started = time.perf_counter()
        client = self._conn.client
        data = await client.post_json(self._url, self.payload(messages, options))
        return parse_converse_response(
            data,
            provider=self._info.provider,
            model=self._info.name,
            duration=time.perf_counter() - started,
            redact=client.redact,
            output=json_output(options),
        )

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        started = time.perf_counter()
        client = self._conn.client
        provider = self._info.provider
        request = HTTPRequest(
            "POST",
            self._stream_url,
            {**client.headers, "accept": "application/vnd.amazon.eventstream"},
            _json.dumps(self.payload(messages, options)),
            client.timeout,
        )
        assembler = StreamAssembler(
            provider=provider, model=self._info.name, output=json_output(options)
        )
        decoder = EventStreamDecoder()
        response = await client.send(request, stream=True)
        chunks = response.aiter_bytes()
        try:
            async for chunk in chunks:
                for frame in decoder.feed(chunk):
                    kind = frame.headers.get(":message-type", "event")
                    if kind == "exception":
                        body = _loads(frame.payload)
                        raise exception_error(
                            str(frame.headers.get(":exception-type", "")),
                            client.redact(str(body.get("message") or frame.payload[:300])),
                            provider,
                        )
                    if kind == "error":
                        raise exception_error(
                            str(frame.headers.get(":error-code", "")),
                            client.redact(str(frame.headers.get(":error-message", ""))),
                            provider,
                        )
                    body = _loads(frame.payload)
                    for out in assembler.feed(str(frame.headers.get(":event-type", "")), body):
                        yield out
        finally:
            await chunks.aclose()
            await response.aclose()
        if not assembler.finished or decoder.incomplete:
            raise APIConnectionError(
                "the stream ended before the answer was complete (no messageStop)",
                provider=provider,
            )
        yield assembler.done(time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._conn.aclose()


def _loads(payload: bytes) -> dict[str, Any]:
    try:
        body = _json.loads(payload) if payload else {}
    except _json.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise APIConnectionError(f"malformed ConverseStream event: {payload[:200]!r}")
    return body


class BedrockEmbedder(BaseEmbedder):
    """Embeddings from Titan (`amazon.titan-embed-text-v2:0`, one text a request) and
    Cohere (`cohere.embed-english-v3`, up to 96 texts a request) through InvokeModel.

    Example:
        >>> BedrockEmbedder("amazon.titan-embed-text-v2:0", region="us-east-1", dimensions=256,
        ...     aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret").dimensions
        256
    """

    def __init__(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        input_type: str = "search_document",
        provider: ProviderSpec | str = "bedrock",
        **connection: Unpack[BedrockOptions],
    ) -> None:
        family = _PROFILE.sub("", name)
        if not family.startswith(("amazon.titan-embed", "cohere.embed")):
            raise ValidationError(
                f"Bedrock embeddings are supported for Titan and Cohere models, not {name!r}"
            )
        self._conn = BedrockConnection(provider, **connection)
        self._cohere = family.startswith("cohere.")
        self.dimensions = dimensions
        self.input_type = input_type
        self._info = ModelInfo(provider=self._conn.spec.name, name=name)
        self._url = self._conn.model_url(name, "invoke")

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    def _malformed(self, data: Any) -> APIConnectionError:
        return APIConnectionError(
            self._conn.client.redact(f"the answer is not an embedding: {str(data)[:200]!r}"),
            provider=self._info.provider,
        )

    async def _embed(self, texts: list[str]) -> Embeddings:
        client = self._conn.client
        vectors: list[list[float]] = []
        tokens = 0
        if self._cohere:
            for start in range(0, len(texts), 96):
                batch = texts[start : start + 96]
                data = await client.post_json(
                    self._url, {"texts": batch, "input_type": self.input_type}
                )
                found = data.get("embeddings") if isinstance(data, dict) else None
                if isinstance(found, dict):  # embedding_types asked: {"float": [...]}
                    found = found.get("float")
                if not isinstance(found, list) or len(found) != len(batch):
                    raise self._malformed(data)
                vectors.extend(found)
        else:
            for text in texts:
                body: dict[str, Any] = {"inputText": text}
                if self.dimensions is not None:
                    body["dimensions"] = self.dimensions
                data = await client.post_json(self._url, body)
                vector = data.get("embedding") if isinstance(data, dict) else None
                if not isinstance(vector, list):
                    raise self._malformed(data)
                vectors.append(vector)
                tokens += int(data.get("inputTextTokenCount") or 0)
        return Embeddings(vectors=vectors, model=self._info.name, usage=Usage(input_tokens=tokens))

    async def aclose(self) -> None:
        await self._conn.aclose()
