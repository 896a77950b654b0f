"""The "http" mode of the contract suite really goes over 127.0.0.1."""

from __future__ import annotations

from conduit.transport import HTTPRequest, HTTPResponse
from tests.providers.contract.kits import KITS


async def test_http_mode_sends_the_request_over_a_socket(wire: str) -> None:
    kit = KITS[0]
    seen: list[HTTPRequest] = []
    reply = kit.reply(kit.text.fixture)

    def recording(request: HTTPRequest) -> HTTPResponse:
        seen.append(request)
        return reply(request)

    model, transport = kit.model(recording)
    answer = await model.chat("Hello")
    assert answer.text == kit.text.text
    (received,) = seen
    (sent,) = transport.requests
    # The handler gets the same request either way...
    assert (received.method, received.url, received.content) == (
        sent.method,
        sent.url,
        sent.content,
    )
    # ...but over HTTP it is rebuilt from the bytes a server read, with the headers
    # aiohttp's client adds on the way (and the mock never sees).
    assert (received is sent) is (wire == "mock")
    assert ("user-agent" in received.headers) is (wire == "http")
