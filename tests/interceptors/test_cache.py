"""Cache: hit, miss and TTL on every backend; keys; bypass; streams; no stampede."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from conduit.errors import ServerError, ValidationError
from conduit.interceptors import Cache, Retry, cache_key, with_interceptors
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import (
    ChatOptions,
    Done,
    FunctionCall,
    Message,
    TextBlock,
    TextDelta,
    Tool,
    ToolCall,
    user,
)
from conduit.storage import CacheBackend, MemoryCache, RedisCache, SQLiteCache
from tests.storage.redis_server import RedisServer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- every backend -----------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store_and_clock(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[CacheBackend, Clock | None]]:
    """A backend and, where expiry runs on our clock, that clock (Redis keeps its own)."""
    if request.param == "memory":
        clock = Clock()
        yield MemoryCache(clock=clock), clock
    elif request.param == "sqlite":
        clock = Clock()
        store = SQLiteCache(tmp_path / "cache.sqlite3", clock=clock)
        yield store, clock
        await store.aclose()
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        client = redis.asyncio.Redis.from_url(server.url)
        await client.flushdb()
        yield RedisCache(client), None
        await client.aclose()


async def test_miss_then_hit_on_every_backend(
    store_and_clock: tuple[CacheBackend, Clock | None],
) -> None:
    store, _ = store_and_clock
    upstream = MockModel(["first", "second"])
    model = with_interceptors(upstream, [Cache(store)])
    miss = await model.chat("hello")
    hit = await model.chat("hello")
    assert (miss.text, miss.metadata["cache_hit"]) == ("first", False)
    assert (hit.text, hit.metadata["cache_hit"]) == ("first", True)
    assert hit.usage == miss.usage
    assert len(upstream.calls) == 1
    other = await model.chat("something else")
    assert (other.text, other.metadata["cache_hit"]) == ("second", False)


async def test_ttl_on_every_backend(store_and_clock: tuple[CacheBackend, Clock | None]) -> None:
    store, clock = store_and_clock
    # Redis expires on its own clock: a TTL of a second leaves room for a busy machine's
    # pauses between the write and the hit, and the wait is certain to outlast it.
    ttl = 0.1 if clock is not None else 1.0
    upstream = MockModel(["first", "second"])
    model = with_interceptors(upstream, [Cache(store, ttl=ttl)])
    await model.chat("hello")
    assert (await model.chat("hello")).metadata["cache_hit"] is True
    if clock is not None:
        clock.now += 0.2
    else:
        await asyncio.sleep(ttl + 0.2)
    again = await model.chat("hello")
    assert (again.text, again.metadata["cache_hit"]) == ("second", False)


async def test_a_stream_hit_is_replayed_as_a_stream_on_every_backend(
    store_and_clock: tuple[CacheBackend, Clock | None],
) -> None:
    store, _ = store_and_clock
    upstream = MockModel(["the cached answer"])
    model = with_interceptors(upstream, [Cache(store)])
    first = [e async for e in model.stream("hi")]  # a miss: streamed by the model, stored
    second = [e async for e in model.stream("hi")]
    assert len(upstream.calls) == 1
    assert [e.text for e in second if isinstance(e, TextDelta)] == ["the", " cached", " answer"]
    assert isinstance(first[-1], Done)
    assert isinstance(second[-1], Done)
    assert first[-1].response.metadata["cache_hit"] is False
    assert second[-1].response.metadata["cache_hit"] is True
    # and a chat call finds the streamed answer too
    assert (await model.chat("hi")).text == "the cached answer"


# -- keys ----------------------------------------------------------------------------------


def test_the_key_normalizes_messages() -> None:
    plain = cache_key("p/m", [user("hi")], ChatOptions())
    blocks = cache_key("p/m", [Message(role="user", content=[TextBlock(text="hi")])], ChatOptions())
    assert plain == blocks
    assert len(plain) == 64


def test_the_key_ignores_the_cache_flag_and_sees_the_rest() -> None:
    base = cache_key("p/m", [user("hi")], ChatOptions())
    assert cache_key("p/m", [user("hi")], ChatOptions(extra={"cache": True})) == base
    different = [
        cache_key("p/other", [user("hi")], ChatOptions()),
        cache_key("p/m", [user("hi!")], ChatOptions()),
        cache_key("p/m", [user("hi"), user("more")], ChatOptions()),
        cache_key("p/m", [Message(role="system", content="hi")], ChatOptions()),
        cache_key("p/m", [user("hi")], ChatOptions(temperature=0)),
        cache_key("p/m", [user("hi")], ChatOptions(extra={"logprobs": True})),
        cache_key("p/m", [user("hi")], ChatOptions(tools=[Tool(name="t")])),
    ]
    assert base not in different
    assert len(set(different)) == len(different)


def test_the_key_is_stable_across_dict_order() -> None:
    a = ChatOptions(extra={"a": 1, "b": {"x": 1, "y": 2}})
    b = ChatOptions(extra={"b": {"y": 2, "x": 1}, "a": 1})
    assert cache_key("p/m", [user("hi")], a) == cache_key("p/m", [user("hi")], b)


async def test_a_key_of_your_own() -> None:
    upstream = MockModel(["one", "two"])
    model = with_interceptors(upstream, [Cache(key=lambda ctx: ctx.messages[-1].text.lower())])
    await model.chat("HELLO")
    assert (await model.chat("hello")).text == "one"


async def test_tool_call_answers_are_cached() -> None:
    call = ToolCall(id="c1", function=FunctionCall.from_raw("add", '{"a": 1}'))
    upstream = MockModel([call])
    model = with_interceptors(upstream, [Cache()])
    await model.chat("add")
    hit = await model.chat("add")
    assert hit.tool_calls[0].function.arguments == {"a": 1}


# -- bypass --------------------------------------------------------------------------------


async def test_cache_false_neither_reads_nor_writes() -> None:
    store = MemoryCache()
    upstream = MockModel(["a", "b", "c"])
    model = with_interceptors(upstream, [Cache(store)])
    await model.chat("hi", extra={"cache": False})
    assert len(store) == 0  # not written
    await model.chat("hi")  # miss, written
    bypassed = await model.chat("hi", options=ChatOptions(extra={"cache": False}))
    assert bypassed.text == "c"  # not read
    assert "cache_hit" not in bypassed.metadata
    assert all("cache" not in c.options.extra for c in upstream.calls)


# -- no stampede ---------------------------------------------------------------------------


async def test_fifty_identical_calls_make_one_upstream_call() -> None:
    upstream = MockModel(["shared answer"], delay=0.05)
    model = with_interceptors(upstream, [Cache()])
    answers = await asyncio.gather(*(model.chat("same question") for _ in range(50)))
    assert len(upstream.calls) == 1
    assert {a.text for a in answers} == {"shared answer"}
    assert sum(a.metadata["cache_hit"] is False for a in answers) == 1


async def test_fifty_identical_streams_make_one_upstream_call() -> None:
    upstream = MockModel(["shared answer"], delay=0.01)
    model = with_interceptors(upstream, [Cache()])

    async def read() -> str:
        events = [e async for e in model.stream("same question")]
        assert isinstance(events[-1], Done)
        return "".join(e.text for e in events if isinstance(e, TextDelta))

    texts = await asyncio.gather(*(read() for _ in range(50)))
    assert set(texts) == {"shared answer"}
    assert len(upstream.calls) == 1


async def test_no_stampede_on_a_shared_sqlite_store(tmp_path: Path) -> None:
    store = SQLiteCache(tmp_path / "c.sqlite3")
    upstream = MockModel(["shared"], delay=0.02, repeat_last=True)
    model = with_interceptors(upstream, [Cache(store)])
    await asyncio.gather(*(model.chat("q") for _ in range(50)))
    assert len(upstream.calls) == 1
    await store.aclose()


async def test_when_the_leader_fails_a_follower_takes_over() -> None:
    upstream = MockModel([ServerError("leader failed"), "second try"], delay=0.02)
    model = with_interceptors(upstream, [Cache()])
    results = await asyncio.gather(*(model.chat("q") for _ in range(5)), return_exceptions=True)
    assert isinstance(results[0], ServerError)
    assert [r.text for r in results[1:]] == ["second try"] * 4  # type: ignore[union-attr]
    assert len(upstream.calls) == 2


async def test_a_cancelled_leader_lets_followers_go_on() -> None:
    # The leader's call hangs until it is cancelled (a delay could end first on a busy
    # machine, and the follower would then get the leader's answer from the cache).
    leading = asyncio.Event()

    async def answer(messages: list[Message], options: ChatOptions) -> str:
        if not leading.is_set():
            leading.set()
            await asyncio.Event().wait()
        return "next"

    upstream = FunctionModel(answer)
    model = with_interceptors(upstream, [Cache()])
    leader = asyncio.create_task(model.chat("q"))
    await asyncio.wait_for(leading.wait(), 30)
    follower = asyncio.create_task(model.chat("q"))
    await asyncio.sleep(0.01)  # (a follower that comes later leads itself: same outcome)
    leader.cancel()
    assert (await follower).metadata["cache_hit"] is False  # it called the model itself
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert len(upstream.calls) == 2


async def test_a_closed_leading_stream_lets_followers_go_on() -> None:
    upstream = MockModel(["one two three", "fresh"], delay=0.01)
    model = with_interceptors(upstream, [Cache()])
    stream = model.stream("q")
    async for _ in stream:  # leads, then stops reading
        break
    follower = asyncio.create_task(model.chat("q"))
    await asyncio.sleep(0.02)
    await stream.aclose()  # type: ignore[attr-defined]
    assert (await follower).text == "fresh"


async def test_one_task_reading_two_identical_streams_in_turn_does_not_deadlock() -> None:
    upstream = MockModel(["a b", "c d"])
    model = with_interceptors(upstream, [Cache()])

    async def in_turn() -> list[object]:
        first = model.stream("q")
        second = model.stream("q")
        events: list[object] = [await first.__anext__(), await second.__anext__()]
        events += [e async for e in first] + [e async for e in second]
        return events

    events = await asyncio.wait_for(in_turn(), timeout=60)  # a deadlock guard
    assert isinstance(events[0], TextDelta)
    assert isinstance(events[1], TextDelta)
    assert sum(isinstance(e, Done) for e in events) == 2
    assert len(upstream.calls) == 2


# -- a failing or odd backend --------------------------------------------------------------


class Broken(MemoryCache):
    async def get(self, key: str) -> bytes | None:
        raise ConnectionError("backend down")

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        raise ConnectionError("backend down")


async def test_a_failing_backend_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    upstream = MockModel(["a", "b"])
    model = with_interceptors(upstream, [Cache(Broken())])
    with caplog.at_level(logging.WARNING, logger="conduit.interceptors.cache"):
        assert (await model.chat("hi")).text == "a"
        assert (await model.chat("hi")).text == "b"
    messages = [r.getMessage() for r in caplog.records]
    assert any("cache read failed" in m for m in messages)
    assert any("cache write failed" in m for m in messages)


async def test_an_unreadable_entry_is_a_miss(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryCache()
    upstream = MockModel(["fresh"])
    model = with_interceptors(upstream, [Cache(store)])
    key = cache_key("fake/mock", [user("hi")], ChatOptions())
    await store.set(key, b"not json")
    with caplog.at_level(logging.WARNING, logger="conduit.interceptors.cache"):
        assert (await model.chat("hi")).text == "fresh"
    assert "unreadable" in caplog.text


async def test_a_cancelled_backend_read_releases_the_key() -> None:
    class Hangs(MemoryCache):
        async def get(self, key: str) -> bytes | None:
            await asyncio.sleep(10)
            return None  # pragma: no cover

    cache = Cache(Hangs())
    model = with_interceptors(MockModel(["x"]), [cache])
    task = asyncio.create_task(model.chat("hi"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cache._flights == {}


async def test_errors_are_not_cached() -> None:
    store = MemoryCache()
    upstream = MockModel([ServerError("x"), "ok"])
    model = with_interceptors(upstream, [Cache(store)])
    with pytest.raises(ServerError):
        await model.chat("hi")
    assert len(store) == 0
    assert (await model.chat("hi")).text == "ok"


async def test_retry_inside_the_cache_keeps_one_flight() -> None:
    upstream = MockModel([ServerError("x"), "ok"], delay=0.01)
    model = with_interceptors(upstream, [Cache(), Retry(initial_delay=0)])
    answers = await asyncio.gather(*(model.chat("q") for _ in range(10)))
    assert {a.text for a in answers} == {"ok"}
    assert len(upstream.calls) == 2


def test_settings() -> None:
    with pytest.raises(ValidationError, match="ttl"):
        Cache(ttl=0)
    assert repr(Cache(ttl=5)) == "Cache(MemoryCache(0/1024 entries), ttl=5)"


async def test_a_stream_made_by_stream_fn_is_cached_whole() -> None:
    async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        for piece in ("a", "b", "c"):
            yield piece

    upstream = FunctionModel(lambda m, o: "unused", stream_fn=pieces)
    model = with_interceptors(upstream, [Cache()])
    [e async for e in model.stream("q")]
    assert (await model.chat("q")).text == "abc"


def test_the_key_sees_every_part_of_a_message() -> None:
    from conduit.schema import ImageBlock, tool_result

    call = ToolCall(id="c1", function=FunctionCall.from_raw("add", '{"a": 1}'))
    conversations = [
        [user("look")],
        [Message(role="user", content=[TextBlock(text="look"), ImageBlock(url="http://x/1.png")])],
        [Message(role="user", content=[TextBlock(text="look"), ImageBlock(url="http://x/2.png")])],
        [Message(role="user", content="look", name="ann")],
        [user("look"), Message(role="assistant", content="", tool_calls=[call])],
        [user("look"), Message(role="assistant", content=""), tool_result("c1", "2")],
        [user("look"), Message(role="assistant", content=""), tool_result("c2", "2")],
    ]
    keys = {cache_key("p/m", messages, ChatOptions()) for messages in conversations}
    assert len(keys) == len(conversations)
