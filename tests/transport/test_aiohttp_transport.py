"""AiohttpTransport: one pool per event loop, closing, user sessions, cancellation, logs."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from conduit import errors
from conduit.transport import HTTPClient, RetryPolicy, Timeout
from conduit.transport.aiohttp_transport import AiohttpTransport

from .conftest import RawServer, WebServer, make_client, reply, wait_for_client_to_leave

FAKE_KEY = "sk-fake-0123456789abcdefghij"


async def test_lazy_export() -> None:
    import conduit.transport

    assert conduit.transport.AiohttpTransport is AiohttpTransport
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        conduit.transport.Nope  # noqa: B018


async def test_repr() -> None:
    transport = AiohttpTransport(timeout=Timeout(connect=1, read=2), limit=7)
    assert repr(transport) == (
        "AiohttpTransport(timeout=Timeout(total=None, connect=1, read=2), limit=7)"
    )
    await transport.aclose()  # never used: nothing to close


async def test_one_session_per_loop(web_server: WebServer) -> None:
    transport = AiohttpTransport()
    client = make_client(transport)
    assert await client.post_json(web_server.url(), {}) == {"ok": True}
    here = await transport._session()
    assert await transport._session() is here
    assert await client.post_json(web_server.url(), {}) == {"ok": True}
    assert await transport._session() is here

    seen: dict[str, object] = {}

    def other_loop() -> None:
        async def main() -> None:
            assert await client.post_json(web_server.url(), {}) == {"ok": True}
            seen["session"] = await transport._session()
            seen["loops"] = len(transport._sessions)

        asyncio.run(main())

    # The other loop's requests are served by this loop's server while we wait.
    await asyncio.to_thread(other_loop)
    there = seen["session"]
    assert isinstance(there, aiohttp.ClientSession)
    assert there is not here
    assert seen["loops"] == 2
    # asyncio.run() ended: the other loop's session was closed and forgotten...
    assert there.closed
    assert len(transport._sessions) == 1
    # ...and this loop's is untouched.
    assert not here.closed
    assert await client.post_json(web_server.url(), {}) == {"ok": True}
    await transport.aclose()
    assert here.closed
    assert len(transport._sessions) == 0


async def test_aclose_then_reuse(web_server: WebServer) -> None:
    transport = AiohttpTransport()
    client = make_client(transport)
    await client.post_json(web_server.url(), {})
    first = await transport._session()
    await transport.aclose()
    assert first.closed
    await transport.aclose()  # idempotent
    assert await client.post_json(web_server.url(), {}) == {"ok": True}
    second = await transport._session()
    assert second is not first
    assert not second.closed
    await transport.aclose()
    assert second.closed


async def test_pool_limit_and_reuse(web_server: WebServer) -> None:
    active = 0
    peak = 0
    ports: set[int] = set()

    both_in = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        if active == 2:
            both_in.set()
        assert request.transport is not None
        ports.add(request.transport.get_extra_info("peername")[1])
        # The first two requests wait for each other (two pooled connections must carry
        # them at once, however slow the machine); later ones give a third a chance.
        await asyncio.wait_for(both_in.wait(), 30)
        await asyncio.sleep(0.02)
        active -= 1
        return web.json_response({"ok": True})

    web_server.answer(slow)
    transport = AiohttpTransport(limit=2)
    try:
        client = make_client(transport)
        results = await asyncio.gather(*(client.post_json(web_server.url(), {}) for _ in range(8)))
    finally:
        await transport.aclose()
    assert results == [{"ok": True}] * 8
    assert peak == 2
    assert len(ports) == 2  # the two pooled connections were kept alive and reused


async def test_user_session_is_used_and_never_closed(web_server: WebServer) -> None:
    async with aiohttp.ClientSession(headers={"x-from-user-session": "yes"}) as session:
        transport = AiohttpTransport(session=session)
        client = make_client(transport)
        assert await client.post_json(web_server.url(), {}) == {"ok": True}
        assert web_server.requests[0].headers["x-from-user-session"] == "yes"
        assert await transport._session() is session
        assert len(transport._sessions) == 0
        await transport.aclose()
        assert not session.closed
        # Still usable through Conduit after aclose.
        assert await client.post_json(web_server.url(), {}) == {"ok": True}
    assert session.closed


async def test_user_session_keeps_its_own_timeout(raw_server: RawServer) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await wait_for_client_to_leave(reader)

    raw_server.answer(stall)
    timeout = aiohttp.ClientTimeout(sock_read=0.1)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        client = make_client(AiohttpTransport(session=session), max_retries=0)
        with pytest.raises(errors.TimeoutError):
            await client.post_json(raw_server.url(), {})


async def test_explicit_transport_timeout_applies_to_a_user_session(raw_server: RawServer) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await wait_for_client_to_leave(reader)

    raw_server.answer(stall)
    async with aiohttp.ClientSession() as session:  # no read timeout of its own
        transport = AiohttpTransport(session=session, timeout=Timeout(read=0.1))
        client = make_client(transport, max_retries=0)
        with pytest.raises(errors.TimeoutError):
            await asyncio.wait_for(client.post_json(raw_server.url(), {}), 30)


async def test_cancellation_passes_through_unchanged(raw_server: RawServer) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await wait_for_client_to_leave(reader)

    raw_server.answer(stall)
    transport = AiohttpTransport()
    try:
        client = make_client(transport)
        task = asyncio.create_task(client.post_json(raw_server.url(), {}))
        await asyncio.wait_for(raw_server.got_request.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as info:
            await task
        assert info.value.__cause__ is not info.value
        assert len(raw_server.requests) == 1  # cancelled, not retried
    finally:
        await transport.aclose()


async def test_cancellation_mid_stream(raw_server: RawServer, transport: AiohttpTransport) -> None:
    from .test_http_stream import sse_script

    raw_server.answer(sse_script([b"data: 1\n\n"], end="stall"))
    client = make_client(transport)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in client.stream_sse(raw_server.url(), {}):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError) as info:
        await task
    assert info.value.__cause__ is not info.value
    await asyncio.wait_for(raw_server.disconnected.wait(), 30)


async def test_concurrent_aclose_of_a_stream_being_read(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    from .test_http_stream import sse_script

    raw_server.answer(sse_script([b"data: 1\n\n"], end="stall"))
    client = make_client(transport)
    request = client._request("POST", raw_server.url(), {}, None)
    response = await client.send(request, stream=True)
    chunks = response.aiter_bytes()
    assert await anext(chunks) == b"data: 1\n\n"
    reader = asyncio.create_task(anext(chunks))
    await asyncio.sleep(0.05)  # the reader is now waiting inside the body stream
    await response.aclose()  # from another task: closes the connection under it
    with pytest.raises((errors.APIConnectionError, StopAsyncIteration)):
        await reader
    await chunks.aclose()
    await asyncio.wait_for(raw_server.disconnected.wait(), 30)


async def test_logs_never_hold_secrets(
    web_server: WebServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    web_server.answer(reply(500, {"error": {"message": f"bad key {FAKE_KEY}"}}), reply(200))
    transport = AiohttpTransport()
    client = HTTPClient(
        transport,
        provider="p",
        headers={"authorization": f"Bearer {FAKE_KEY}", "x-api-key": FAKE_KEY},
        secrets=[FAKE_KEY, "AIzaPlainGoogleKey000000000000"],
        retry=RetryPolicy(max_retries=2, initial_delay=0.001),
    )
    url = web_server.url("/v1/models/m:generate?alt=sse&key=AIzaPlainGoogleKey000000000000")
    try:
        assert await client.post_json(url, {"q": FAKE_KEY}) == {}
        # A connection failure, with the key in the URL, is logged and raised redacted.
        dead = "http://127.0.0.1:1/v1?key=AIzaPlainGoogleKey000000000000"
        with pytest.raises(errors.APIConnectionError) as info:
            await client.post_json(dead, {})
    finally:
        await transport.aclose()
    assert web_server.requests[0].headers["x-api-key"] == FAKE_KEY  # it was sent
    messages = [record.getMessage() for record in caplog.records]
    assert any("-> 500; retry 1" in m for m in messages)
    assert any("failed (APIConnectionError); retry 1" in m for m in messages)
    assert any("-> 200 in" in m for m in messages)
    # (aiohttp.access is the test server's own log, on the other side of the wire.)
    text = "\n".join(
        m for r, m in zip(caplog.records, messages, strict=True) if r.name != "aiohttp.access"
    )
    assert FAKE_KEY not in text
    assert "AIzaPlainGoogleKey" not in text
    assert "[REDACTED]" in text
    assert "AIzaPlainGoogleKey" not in str(info.value)


SCRIPT = textwrap.dedent(
    """
    import asyncio, gc, sys
    import aiohttp
    from conduit.transport import HTTPClient, RetryPolicy
    from conduit.transport.aiohttp_transport import AiohttpTransport

    MODE = sys.argv[1]

    async def serve(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\\r\\n\\r\\n")
                length = 0
                for line in head.split(b"\\r\\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if b"stream" in head:
                    writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Type: text/event-stream\\r\\n"
                                 b"Transfer-Encoding: chunked\\r\\n\\r\\n"
                                 b"9\\r\\ndata: 1\\n\\n\\r\\n")
                else:
                    writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\n"
                                 b"Content-Length: 2\\r\\n\\r\\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # CancelledError: asyncio.run() ending while a connection is still open
        finally:
            writer.close()

    async def use(transport, port):
        client = HTTPClient(transport, provider="x", retry=RetryPolicy(max_retries=0))
        url = f"http://127.0.0.1:{port}/v1"
        assert await client.post_json(url, {}) == {}
        async for event in client.stream_sse(url + "/stream", {}):
            assert event.data == "1"
            break  # left open on purpose: the loop's shutdown closes the generator

    async def main(transport):
        # -X dev turns on asyncio debug mode, which reports steps slower than 0.1 s;
        # on a loaded machine that is noise, not a leak.
        asyncio.get_running_loop().slow_callback_duration = 30
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        if MODE == "leak":
            session = aiohttp.ClientSession()  # the control: never closed
            async with session.get(f"http://127.0.0.1:{port}/v1") as resp:
                await resp.read()
            del session
        else:
            await use(transport, port)
            if MODE == "dropped":
                del transport  # the transport is collected while the loop still runs
                gc.collect()
                await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()

    transport = AiohttpTransport()
    asyncio.run(main(transport))
    asyncio.run(main(transport))  # a second loop, a second pool, closed the same way
    if MODE == "dropped":
        asyncio.run(main(AiohttpTransport()))
    assert not transport._sessions
    del transport
    gc.collect()
    print("done")
    """
)


@pytest.mark.parametrize("mode", ["kept", "dropped", "leak"])
def test_sessions_close_when_asyncio_run_ends(tmp_path: Path, mode: str) -> None:
    script = tmp_path / "pool.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-X", "dev", str(script), mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if mode == "leak":
        # The check can see a leak: a bare session left open is reported.
        assert "Unclosed client session" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        assert proc.stdout.strip() == "done"


async def test_session_for_a_loop_created_in_a_thread_is_not_shared() -> None:
    transport = AiohttpTransport()
    sessions: list[aiohttp.ClientSession] = []

    def run() -> None:
        async def main() -> None:
            sessions.append(await transport._session())

        asyncio.run(main())

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(s) for s in sessions}) == 3
    assert all(s.closed for s in sessions)
    assert not transport._sessions


async def test_a_transport_dropped_open_closes_its_pool_on_its_loop(
    web_server: WebServer,
) -> None:
    # A model let go of without aclose() (a cache eviction, a user's temporary model):
    # its transport sits in a reference cycle, so only the collector finds it. Its pool
    # is then closed on its loop, with no "Unclosed client session" warning (the suite
    # turns warnings into errors).
    import gc

    transport = AiohttpTransport()
    client = make_client(transport)
    assert await client.post_json(web_server.url(), {}) == {"ok": True}
    session = await transport._session()
    del client, transport
    gc.collect()
    for _ in range(100):  # the close is scheduled on this loop: let it run
        if session.closed:
            break
        await asyncio.sleep(0)
    assert session.closed
