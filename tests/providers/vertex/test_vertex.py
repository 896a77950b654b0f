"""Vertex AI beyond the contract suite: settings, token refresh, URL shapes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from conduit.errors import AuthenticationError, ValidationError
from conduit.providers.vertex import (
    GoogleTokenSource,
    VertexAnthropicChatModel,
    VertexGeminiChatModel,
)
from conduit.providers.vertex.auth import REFRESH_MARGIN
from conduit.transport import MockTransport, json_response
from tests.providers.contract.kits import ANTHROPIC, GEMINI


class FakeCredentials:
    """google-auth credentials stand-in: counts refreshes; each token lives `life` seconds."""

    def __init__(self, life: float = 3600, token: str | None = None) -> None:
        self.life = life
        self.token = token
        self.expiry: dt.datetime | None = None
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"ya29.token-{self.refreshes}"
        self.expiry = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=self.life)


@pytest.fixture(autouse=True)
def no_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GOOGLE_CLOUD_PROJECT",
        "CLOUDSDK_CORE_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GOOGLE_CLOUD_REGION",
        "VERTEX_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_a_missing_location_names_what_to_set() -> None:
    with pytest.raises(ValidationError, match="GOOGLE_CLOUD_LOCATION"):
        VertexGeminiChatModel("gemini-2.5-flash", project="p", credentials=FakeCredentials())


def test_a_missing_project_names_what_to_set() -> None:
    with pytest.raises(ValidationError, match="GOOGLE_CLOUD_PROJECT"):
        VertexGeminiChatModel(
            "gemini-2.5-flash", location="us-central1", credentials=FakeCredentials()
        )


def test_missing_adc_says_how_to_log_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # never probe the metadata server
    with pytest.raises(AuthenticationError, match="gcloud auth application-default login"):
        GoogleTokenSource()


async def test_the_token_is_refreshed_before_it_expires() -> None:
    creds = FakeCredentials(life=REFRESH_MARGIN + 3600)
    source = GoogleTokenSource(creds)

    first = await source.token()
    again = await source.token()
    assert (first, again, creds.refreshes) == ("ya29.token-1", "ya29.token-1", 1)

    creds.expiry = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(
        seconds=REFRESH_MARGIN / 2
    )
    assert await source.token() == "ya29.token-2"
    assert creds.refreshes == 2


async def test_a_failed_refresh_is_an_authentication_error() -> None:
    class Broken(FakeCredentials):
        def refresh(self, request: Any) -> None:
            raise RuntimeError("invalid_grant")

    with pytest.raises(AuthenticationError, match="gcloud auth application-default login"):
        await GoogleTokenSource(Broken()).token()


async def test_gemini_on_vertex_sends_a_fresh_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-proj")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "global")
    creds = FakeCredentials(life=1)  # always within the margin: refreshed every request
    transport = MockTransport(lambda r: json_response(GEMINI.load("generate_text")))
    model = VertexGeminiChatModel("gemini-2.5-flash", credentials=creds, transport=transport)

    await model.chat("Hi")
    await model.chat("Again")

    assert [r.headers["authorization"] for r in transport.requests] == [
        "Bearer ya29.token-1",
        "Bearer ya29.token-2",
    ]
    assert transport.requests[0].url == (
        "https://aiplatform.googleapis.com/v1/projects/env-proj/locations/global/"
        "publishers/google/models/gemini-2.5-flash:generateContent"
    )


async def test_claude_on_vertex_uses_raw_predict() -> None:
    transport = MockTransport(lambda r: json_response(ANTHROPIC.load("message_text")))
    model = VertexAnthropicChatModel(
        "claude-haiku-4-5@20251001",
        project="p-1",
        location="us-east5",
        credentials=FakeCredentials(),
        transport=transport,
        base_url="http://127.0.0.1:9/v1",
    )
    assert (await model.chat("Hi")).text == "Hello! How can I help you today?"
    sent = transport.requests[0]
    assert sent.url == (
        "http://127.0.0.1:9/v1/projects/p-1/locations/us-east5/publishers/anthropic/models/"
        "claude-haiku-4-5@20251001:rawPredict"
    )
    assert sent.json()["anthropic_version"] == "vertex-2023-10-16"


def test_default_max_tokens_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        VertexAnthropicChatModel(
            "c", project="p", location="l", credentials=FakeCredentials(), default_max_tokens=0
        )


async def test_a_rejected_token_says_how_to_refresh() -> None:
    data = GEMINI.load("error_unauthenticated")
    transport = MockTransport(lambda r: json_response(data, status=401))
    model = VertexGeminiChatModel(
        "gemini-2.5-flash",
        project="p",
        location="us-central1",
        credentials=FakeCredentials(),
        transport=transport,
        max_retries=0,
    )
    with pytest.raises(AuthenticationError, match="gcloud auth application-default login"):
        await model.chat("Hi")


async def test_a_quota_project_is_sent() -> None:
    creds = FakeCredentials()
    creds.quota_project_id = "billing-proj"  # type: ignore[attr-defined]
    transport = MockTransport(lambda r: json_response(GEMINI.load("generate_text")))
    model = VertexGeminiChatModel(
        "gemini-2.5-flash",
        project="p",
        location="us-central1",
        credentials=creds,
        transport=transport,
    )
    await model.chat("Hi")
    assert transport.requests[0].headers["x-goog-user-project"] == "billing-proj"


async def test_gemini_and_claude_over_real_http() -> None:
    from tests.providers.platform_http import serve, sse

    def answer(seen: Any) -> Any:
        if seen.path.endswith(":streamGenerateContent"):
            return sse(GEMINI.stream_events("stream_text"))
        if seen.path.endswith(":generateContent"):
            return GEMINI.load("generate_text")
        if seen.path.endswith(":streamRawPredict"):
            return sse(ANTHROPIC.stream_events("stream_text"), named=True)
        return ANTHROPIC.load("message_text")

    creds = FakeCredentials()
    async with serve(answer) as (url, seen):
        settings: dict[str, Any] = {
            "project": "p-1",
            "location": "us-east5",
            "credentials": creds,
            "base_url": f"{url}/v1",
        }
        gemini = VertexGeminiChatModel("gemini-2.5-flash", **settings)
        claude = VertexAnthropicChatModel("claude-sonnet-4-5@20250929", **settings)
        texts = [
            (await gemini.chat("Hi")).text,
            [e async for e in gemini.stream("Hi")][-1].response.text,
            (await claude.chat("Hi")).text,
            [e async for e in claude.stream("Hi")][-1].response.text,
        ]
        await gemini.aclose()
        await claude.aclose()

    assert texts == ["Hello! How can I help you today?"] * 4
    root = "/v1/projects/p-1/locations/us-east5/publishers"
    assert [s.path for s in seen] == [
        f"{root}/google/models/gemini-2.5-flash:generateContent",
        f"{root}/google/models/gemini-2.5-flash:streamGenerateContent",
        f"{root}/anthropic/models/claude-sonnet-4-5@20250929:rawPredict",
        f"{root}/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
    ]
    assert seen[1].query == {"alt": "sse"}
    assert all(s.headers["authorization"] == "Bearer ya29.token-1" for s in seen)
    assert seen[3].body["anthropic_version"] == "vertex-2023-10-16"
    assert creds.refreshes == 1
