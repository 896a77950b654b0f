"""Shared helpers for the Bedrock adapter tests.

Independent check: every Converse / ConverseStream / InvokeModel body the adapter sends
is validated by botocore's own `ParamValidator` against the `bedrock-runtime` service
model (the shapes the AWS API reference is generated from), and ConverseStream answers
are framed with the AWS event-stream encoding (checked against botocore's parser in
test_eventstream.py).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import botocore.session
import pytest
from botocore.validate import ParamValidator

from conduit.providers.bedrock import BedrockChatModel, BedrockEmbedder
from conduit.providers.bedrock.eventstream import encode_frame
from conduit.transport import Handler, HTTPRequest, HTTPResponse, MockTransport, json_response

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bedrock"
REGION = "us-east-1"
MODEL = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

_SERVICE = botocore.session.get_session().get_service_model("bedrock-runtime")
_OPERATIONS = {"converse": "Converse", "converse-stream": "ConverseStream"}


def load_fixture(name: str) -> Any:
    """A wire fixture from tests/fixtures/bedrock/ (`.json` added when missing)."""
    if not name.endswith(".json"):
        name += ".json"
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def action_of(request: HTTPRequest) -> tuple[str, str]:
    """(model id, action) from a request URL `/model/{id}/{action}`."""
    path = request.url.split("/model/", 1)[1].split("?")[0]
    model_id, _, action = path.rpartition("/")
    return unquote(model_id), action


def assert_valid_bedrock_request(request: HTTPRequest) -> None:
    """Fail unless the body is valid input for the operation, per botocore's model."""
    model_id, action = action_of(request)
    operation = _OPERATIONS.get(action)
    if operation is None:
        return  # InvokeModel: the body is the model's own JSON
    shape = _SERVICE.operation_model(operation).input_shape
    params = {"modelId": model_id, **request.json()}
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        pytest.fail(f"request is not valid {operation} input:\n{report.generate_report()}")


def validating_transport(handler: Handler) -> MockTransport:
    async def checked(request: HTTPRequest) -> HTTPResponse:
        assert_valid_bedrock_request(request)
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
        result = handler(request)
        return await result if inspect.isawaitable(result) else result

    return MockTransport(checked)


def frames(events: list[dict[str, Any]]) -> bytes:
    """ConverseStream events (`{"contentBlockDelta": {...}}`, ...) as event-stream frames."""
    out = []
    for event in events:
        ((kind, body),) = event.items()
        if kind.endswith("Exception"):
            headers = {":exception-type": kind, ":content-type": "application/json"}
            headers[":message-type"] = "exception"
        else:
            headers = {
                ":event-type": kind,
                ":content-type": "application/json",
                ":message-type": "event",
            }
        out.append(encode_frame(headers, json.dumps({**body, "p": "abcdefgh"}).encode()))
    return b"".join(out)


def stream_reply(name_or_events: str | list[Any], chunk_size: int = 37) -> Handler:
    """A handler answering with ConverseStream frames, in chunks that split frames."""
    events = load_fixture(name_or_events) if isinstance(name_or_events, str) else name_or_events
    body = frames(events)

    def answer(request: HTTPRequest) -> HTTPResponse:
        async def stream() -> Any:
            for i in range(0, len(body), chunk_size):
                yield body[i : i + chunk_size]

        return HTTPResponse(
            200, {"content-type": "application/vnd.amazon.eventstream"}, stream=stream()
        )

    return answer


def error_reply(status: int, fixture: str, error_type: str, **headers: str) -> Handler:
    data = load_fixture(fixture)
    sent = {"x-amzn-errortype": f"{error_type}:http://internal.amazon.com/coral/", **headers}
    return lambda request: json_response(data, status=status, headers=sent)


def chat_model(
    handler: Handler, *, name: str = MODEL, **config: Any
) -> tuple[BedrockChatModel, MockTransport]:
    """A `BedrockChatModel` with fixed credentials on a validating mock transport."""
    transport = validating_transport(handler)
    config.setdefault("region", REGION)
    config.setdefault("aws_access_key_id", ACCESS_KEY)
    config.setdefault("aws_secret_access_key", SECRET_KEY)
    config.setdefault("max_retries", 0)
    return BedrockChatModel(name, transport=transport, **config), transport


def embedder(handler: Handler, name: str, **config: Any) -> tuple[BedrockEmbedder, MockTransport]:
    transport = validating_transport(handler)
    config.setdefault("region", REGION)
    config.setdefault("aws_access_key_id", ACCESS_KEY)
    config.setdefault("aws_secret_access_key", SECRET_KEY)
    config.setdefault("max_retries", 0)
    return BedrockEmbedder(name, transport=transport, **config), transport
