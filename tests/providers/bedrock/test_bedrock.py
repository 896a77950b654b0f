"""Bedrock beyond the contract suite: settings and credentials, capability refusals,
exception frames, AWS error answers, embeddings, and a real HTTP round trip."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from conduit.errors import (
    AuthenticationError,
    ContentFilterError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from conduit.providers.bedrock import BedrockChatModel, CredentialSource
from conduit.providers.bedrock.eventstream import EventStreamError, encode_frame
from conduit.schema import Done, ImageBlock, StreamEvent, TextDelta, Tool, user
from conduit.transport import MockTransport, json_response
from tests.providers.bedrock.conftest import (
    ACCESS_KEY,
    SECRET_KEY,
    chat_model,
    embedder,
    error_reply,
    frames,
    load_fixture,
    stream_reply,
)

TOOL = Tool(name="get_weather", parameters={"type": "object", "properties": {}})
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
    "rkJggg=="
)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment with no AWS settings at all (no files, no metadata service)."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "BEDROCK_RUNTIME_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


async def collect_into(seen: list[StreamEvent], events: AsyncIterator[StreamEvent]) -> None:
    async for event in events:
        seen.append(event)


def never(request: Any) -> Any:
    raise AssertionError("no request may be sent")


# ------------------------------------------------------------------ settings


def test_a_missing_region_names_what_to_set(aws_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="AWS_REGION"):
        BedrockChatModel("amazon.nova-lite-v1:0", transport=MockTransport(never))


def test_missing_credentials_name_what_to_set(aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_REGION", "us-east-1")
    with pytest.raises(AuthenticationError, match="AWS_ACCESS_KEY_ID"):
        BedrockChatModel("amazon.nova-lite-v1:0", transport=MockTransport(never))


def test_half_a_key_pair_is_refused() -> None:
    with pytest.raises(ValidationError, match="both"):
        BedrockChatModel("m", region="us-east-1", aws_access_key_id="AKID")


async def test_the_credential_chain_reads_the_environment(aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    aws_env.setenv("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    aws_env.setenv("AWS_SESSION_TOKEN", "env-token")
    transport = MockTransport(lambda r: json_response(load_fixture("converse_text")))
    model = BedrockChatModel("eu.amazon.nova-pro-v1:0", transport=transport)

    await model.chat("Hi")

    (sent,) = transport.requests
    assert sent.url.startswith("https://bedrock-runtime.eu-central-1.amazonaws.com/model/")
    assert "Credential=AKIAENVEXAMPLE/" in sent.headers["authorization"]
    assert "/eu-central-1/bedrock/aws4_request" in sent.headers["authorization"]
    assert sent.headers["x-amz-security-token"] == "env-token"


async def test_the_shared_profile_gives_credentials_and_region(
    aws_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "config").write_text("[profile team]\nregion = ap-northeast-1\n")
    (tmp_path / "credentials").write_text(
        "[team]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profile-secret\n"
    )
    aws_env.setenv("AWS_PROFILE", "team")
    transport = MockTransport(lambda r: json_response(load_fixture("converse_text")))
    model = BedrockChatModel("apac.amazon.nova-lite-v1:0", transport=transport)

    await model.chat("Hi")

    assert "Credential=AKIAPROFILE/" in transport.requests[0].headers["authorization"]
    assert "ap-northeast-1" in transport.requests[0].url


async def test_refreshable_credentials_are_refreshed_when_due() -> None:
    class Chain:
        def __init__(self) -> None:
            self.refreshed = 0

        def refresh_needed(self) -> bool:
            return True

        def get_frozen_credentials(self) -> Any:
            self.refreshed += 1
            return type("Frozen", (), {"access_key": "AK", "secret_key": "S", "token": "T"})()

    source = CredentialSource.__new__(CredentialSource)
    source._fixed = None
    chain = Chain()
    source._chain = chain

    creds = await source.get()

    assert (creds.access_key, creds.token, chain.refreshed) == ("AK", "T", 1)


async def test_credentials_that_cannot_refresh_say_how() -> None:
    class Chain:
        def refresh_needed(self) -> bool:
            return True

        def get_frozen_credentials(self) -> Any:
            raise RuntimeError("token expired")

    source = CredentialSource.__new__(CredentialSource)
    source._fixed = None
    source._chain = Chain()

    with pytest.raises(AuthenticationError, match="aws sso login"):
        await source.get()


# --------------------------------------------------------------- capabilities


@pytest.mark.parametrize(
    ("name", "ask"),
    [
        ("meta.llama2-13b-chat-v1", {"tools": [TOOL]}),
        ("amazon.nova-micro-v1:0", {"image": True}),
        ("us.meta.llama3-1-8b-instruct-v1:0", {"image": True}),
    ],
)
async def test_a_model_without_the_capability_is_refused_before_the_request(
    name: str, ask: dict[str, Any]
) -> None:
    model, transport = chat_model(never, name=name)
    message = (
        user("Hi", ImageBlock(data=PNG, media_type="image/png")) if ask.get("image") else user("Hi")
    )

    with pytest.raises(ValidationError, match=name.replace(".", r"\.")):
        await model.chat([message], tools=ask.get("tools"))

    assert transport.requests == []


async def test_tool_choice_none_is_refused() -> None:
    model, _transport = chat_model(never)
    with pytest.raises(ValidationError, match="no tool_choice 'none'"):
        await model.chat("Hi", tools=[TOOL], tool_choice="none")


async def test_audio_and_bad_image_types_are_refused() -> None:
    model, _ = chat_model(never)
    with pytest.raises(ValidationError, match="png, jpeg"):
        await model.chat([user("Hi", ImageBlock(data=PNG, media_type="image/bmp"))])


# ------------------------------------------------------------ errors and frames


async def test_a_throttling_exception_frame_is_a_rate_limit_error() -> None:
    events = [
        *load_fixture("stream_text")[:3],
        {"throttlingException": {"message": "Too many tokens, please wait before trying again."}},
    ]
    model, _ = chat_model(stream_reply(events))
    seen: list[StreamEvent] = []

    with pytest.raises(RateLimitError, match="Too many tokens") as info:
        await collect_into(seen, model.stream("Hi"))

    assert info.value.provider == "bedrock"
    assert any(isinstance(e, TextDelta) for e in seen)


async def test_a_model_stream_error_frame_is_a_server_error() -> None:
    events = [{"modelStreamErrorException": {"message": "model failed", "originalStatusCode": 500}}]
    model, _ = chat_model(stream_reply(events))
    with pytest.raises(ServerError):
        [e async for e in model.stream("Hi")]


async def test_a_corrupt_frame_is_a_typed_error() -> None:
    body = bytearray(frames(load_fixture("stream_text")))
    body[len(body) // 2] ^= 0x01

    def answer(request: Any) -> Any:
        from conduit.transport import HTTPResponse

        async def stream() -> AsyncIterator[bytes]:
            yield bytes(body)

        return HTTPResponse(200, {}, stream=stream())

    model, _ = chat_model(answer)
    with pytest.raises(EventStreamError, match="CRC"):
        [e async for e in model.stream("Hi")]


async def test_expired_credentials_say_how_to_refresh() -> None:
    model, _ = chat_model(error_reply(403, "error_expired_token", "ExpiredTokenException"))
    with pytest.raises(AuthenticationError, match="aws sso login") as info:
        await model.chat("Hi")
    assert info.value.status_code == 403


async def test_an_invalid_security_token_is_an_authentication_error() -> None:
    model, _ = chat_model(
        error_reply(403, "error_unrecognized_client", "UnrecognizedClientException")
    )
    with pytest.raises(AuthenticationError, match="refused the credentials"):
        await model.chat("Hi")


async def test_a_guardrail_in_the_stream_is_a_content_filter_error() -> None:
    events = [
        {"messageStart": {"role": "assistant"}},
        {"messageStop": {"stopReason": "guardrail_intervened"}},
    ]
    model, _ = chat_model(stream_reply(events))
    with pytest.raises(ContentFilterError, match="guardrail"):
        [e async for e in model.stream("Hi")]


async def test_a_guardrail_answer_carries_its_trace() -> None:
    model, _ = chat_model(lambda r: json_response(load_fixture("converse_guardrail")))
    with pytest.raises(ContentFilterError) as info:
        await model.chat("Hi")
    assert "VIOLENCE" in (info.value.body or "")


async def test_cache_write_tokens_are_counted() -> None:
    data = load_fixture("converse_text")
    data["usage"] = {
        "inputTokens": 5,
        "outputTokens": 2,
        "totalTokens": 2055,
        "cacheReadInputTokens": 1024,
        "cacheWriteInputTokens": 1024,
    }
    model, _ = chat_model(lambda r: json_response(data))
    usage = (await model.chat("Hi")).usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_creation_tokens) == (
        2053,
        1024,
        1024,
    )


async def test_json_output_streams_as_text() -> None:
    events = [
        {
            "contentBlockStart": {
                "contentBlockIndex": 0,
                "start": {"toolUse": {"toolUseId": "t1", "name": "person"}},
            }
        },
        {
            "contentBlockDelta": {
                "contentBlockIndex": 0,
                "delta": {"toolUse": {"input": '{"name": "Ada"}'}},
            }
        },
        {"messageStop": {"stopReason": "tool_use"}},
    ]
    model, _ = chat_model(stream_reply(events))
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    fmt = {"type": "json_schema", "name": "person", "schema": schema}
    done = [e async for e in model.stream("Who?", response_format=fmt)][-1]
    assert isinstance(done, Done)
    assert json.loads(done.response.text) == {"name": "Ada"}
    assert done.response.stop_reason == "end_turn"


# ---------------------------------------------------------------- embeddings


async def test_titan_embeddings_one_request_per_text() -> None:
    emb, transport = embedder(
        lambda r: json_response(load_fixture("titan_embedding")),
        "amazon.titan-embed-text-v2:0",
        dimensions=256,
    )
    result = await emb.embed(["hello", "world"])
    assert len(result.vectors) == 2
    assert result.usage.input_tokens == 10
    assert [r.json() for r in transport.requests] == [
        {"inputText": "hello", "dimensions": 256},
        {"inputText": "world", "dimensions": 256},
    ]
    assert transport.requests[0].url.endswith("/model/amazon.titan-embed-text-v2:0/invoke")


async def test_cohere_embeddings_in_one_batch() -> None:
    emb, transport = embedder(
        lambda r: json_response(load_fixture("cohere_embeddings")), "cohere.embed-english-v3"
    )
    result = await emb.embed(["hello", "world"])
    assert result.vectors == [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
    assert transport.requests[0].json() == {
        "texts": ["hello", "world"],
        "input_type": "search_document",
    }


def test_other_embedding_families_are_refused() -> None:
    with pytest.raises(ValidationError, match="Titan and Cohere"):
        embedder(never, "meta.llama3-8b-instruct-v1:0")


# ----------------------------------------------------------- real HTTP on 127.0.0.1


def verify_signature(request: web.Request, body: bytes) -> None:
    """Recompute the signature of what the server received with botocore's signer."""
    from datetime import datetime
    from unittest import mock

    import botocore.auth
    import botocore.credentials
    from botocore.awsrequest import AWSRequest

    sent = request.headers["Authorization"]
    names = sent.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {n: request.headers[n] for n in names if n not in ("host", "x-amz-date")}
    url = f"http://{request.headers['Host']}{request.raw_path}"
    check = AWSRequest(method="POST", url=url, headers=headers, data=body)
    when = datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    creds = botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        botocore.auth.SigV4Auth(creds, "bedrock", "us-east-1").add_auth(check)
    assert check.headers["Authorization"] == sent, "the server would reject this signature"


async def test_converse_and_converse_stream_over_real_http() -> None:
    seen: list[tuple[str, str]] = []

    async def converse(request: web.Request) -> web.StreamResponse:
        seen.append((request.raw_path, request.headers["Authorization"]))
        verify_signature(request, await request.read())
        if request.path.endswith("/converse-stream"):
            response = web.StreamResponse(
                headers={"content-type": "application/vnd.amazon.eventstream"}
            )
            await response.prepare(request)
            body = frames(load_fixture("stream_text"))
            for i in range(0, len(body), 50):
                await response.write(body[i : i + 50])
            await response.write_eof()
            return response
        return web.json_response(load_fixture("converse_text"))

    app = web.Application()
    app.router.add_post("/model/{model}/{action}", converse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        model = BedrockChatModel(
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            region="us-east-1",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            max_retries=0,
        )
        answer = await model.chat("Hi")
        streamed = [e async for e in model.stream("Hi")]
        await model.aclose()
    finally:
        await runner.cleanup()
    assert answer.text == "Hello! How can I help you today?"
    assert isinstance(streamed[-1], Done)
    assert streamed[-1].response.text == answer.text
    assert seen[0][0] == "/model/us.anthropic.claude-3-5-haiku-20241022-v1:0/converse"
    assert all(auth.startswith("AWS4-HMAC-SHA256 ") for _, auth in seen)
    await asyncio.sleep(0)


async def test_an_error_frame_is_a_typed_error() -> None:
    from conduit.transport import HTTPResponse

    frame = encode_frame(
        {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, b""
    )

    async def stream() -> AsyncIterator[bytes]:
        yield frame

    model, _ = chat_model(lambda request: HTTPResponse(200, {}, stream=stream()))
    with pytest.raises(ServerError, match="InternalFailure: boom"):
        [e async for e in model.stream("Hi")]


async def test_a_malformed_event_payload_is_a_connection_error() -> None:
    from conduit.errors import APIConnectionError
    from conduit.transport import HTTPResponse

    frame = encode_frame({":message-type": "event", ":event-type": "messageStop"}, b"[not json")

    async def stream() -> AsyncIterator[bytes]:
        yield frame

    model, _ = chat_model(lambda request: HTTPResponse(200, {}, stream=stream()))
    with pytest.raises(APIConnectionError, match="malformed ConverseStream event"):
        [e async for e in model.stream("Hi")]


def test_an_empty_model_id_and_a_bad_endpoint_are_refused() -> None:
    with pytest.raises(ValidationError, match="model id"):
        chat_model(never, name="")
    with pytest.raises(ValidationError, match="endpoint_url"):
        chat_model(never, endpoint_url="bedrock.local")


def test_the_endpoint_follows_the_region() -> None:
    model, _ = chat_model(never, region="ap-south-1")
    assert model.base_url == "https://bedrock-runtime.ap-south-1.amazonaws.com"
    assert "ap-south-1" in repr(model._conn)


def test_the_aws_endpoint_variables_are_read(aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:4566/")
    model, _ = chat_model(never)
    assert model.base_url == "http://127.0.0.1:4566"
