"""The sync bridge: sync twins work from scripts, threads and inside a running event loop."""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import conduit
from conduit.core import iterate_sync, run_sync
from conduit.core.sync import _Bridge, _bridge
from conduit.errors import ConduitError, RateLimitError, ServerError
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import ChatOptions, Done, Message, StreamEvent, TextDelta
from tests.support.timing import without_slow_step_warnings

ROOT = Path(__file__).resolve().parents[2]


def _stack(thread_id: int) -> list[tuple[str, str, int]]:
    """The thread's Python stack now, innermost first: (file, function, line)."""
    frame = sys._current_frames().get(thread_id)
    stack = []
    while frame is not None:
        stack.append((frame.f_code.co_filename, frame.f_code.co_name, frame.f_lineno))
        frame = frame.f_back
    return stack


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll `condition` (a state, not a duration); fail after `timeout` s (a hang guard)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.001)


def _run_script(
    code: str, timeout: float = 60, dev: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter, warnings as errors (and -X dev: ResourceWarnings,
    asyncio debug) so that anything left behind at exit shows on stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PYTHONWARNINGS", None)
    flags = ["-X", "dev"] if dev else []
    return subprocess.run(
        [sys.executable, *flags, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


class TestPlainScript:
    def test_sync_twins_from_a_script_leave_stderr_empty(self) -> None:
        proc = _run_script(
            """
            import conduit
            print(conduit.chat_sync("fake/echo", "hello").text)
            print("".join(e.text for e in conduit.stream_sync("fake/echo", "a b c")
                          if e.type == "text_delta"))
            print(len(conduit.embed_sync("fake/hash", ["x", "y"])))
            m = conduit.MockModel(["one", "two"])
            print(m.chat_sync("q").text, [e.type for e in m.stream_sync("q")][-1])
            for event in conduit.stream_sync("fake/echo", "break early please"):
                break
            """
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == ["hello", "a b c", "2", "one done"]
        assert without_slow_step_warnings(proc.stderr) == "", proc.stderr

    def test_unfinished_stream_at_exit_does_not_hang_or_warn(self) -> None:
        # A sync generator still open at exit is finalized after the bridge shut down;
        # that must neither start a new loop (it used to hang) nor print anything.
        proc = _run_script(
            """
            import conduit
            it = conduit.stream_sync("fake/echo", "a b c d")
            print(next(it).text)
            """,
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "a\n"
        assert without_slow_step_warnings(proc.stderr) == "", proc.stderr

    def test_sync_call_inside_asyncio_run_from_a_script(self) -> None:
        proc = _run_script(
            """
            import asyncio, conduit
            async def main():
                return conduit.chat_sync("fake/echo", "inside a loop").text
            print(asyncio.run(main()))
            """,
            # not -X dev: asyncio's debug mode would (rightly) report that the sync call
            # blocked the caller's loop, which is what a sync call inside a loop does
            dev=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "inside a loop\n"
        assert proc.stderr == ""


class TestThreads:
    def test_many_threads_at_once(self) -> None:
        texts = [f"message {i}" for i in range(24)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            chats = list(pool.map(lambda t: conduit.chat_sync("fake/echo", t).text, texts))
            streams = list(
                pool.map(
                    lambda t: "".join(
                        e.text
                        for e in conduit.stream_sync("fake/echo", t)
                        if isinstance(e, TextDelta)
                    ),
                    texts,
                )
            )
            vectors = list(pool.map(lambda t: conduit.embed_sync("fake/hash", t)[0], texts))
        assert chats == texts
        assert streams == texts
        assert vectors == [conduit.embed_sync("fake/hash", t)[0] for t in texts]

    def test_threads_share_one_loop_and_run_concurrently(self) -> None:
        # Overlap, not speed: each call waits inside the model until all ten are in it,
        # so only calls that run at the same time can finish (one after another, the
        # first would wait until the guard gives up).
        inside = 0
        all_in: asyncio.Event | None = None

        async def answer(messages: list[Message], options: ChatOptions) -> str:
            nonlocal inside, all_in
            all_in = all_in or asyncio.Event()
            inside += 1
            if inside == 10:
                all_in.set()
            await asyncio.wait_for(all_in.wait(), 60)
            return "ok"

        model = FunctionModel(answer)
        loops: set[int] = set()

        async def which_loop() -> int:
            return id(asyncio.get_running_loop())

        def call(_: int) -> str:
            loops.add(run_sync(which_loop()))
            return model.chat_sync("hi").text

        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(call, range(10)))
        assert results == ["ok"] * 10
        assert len(loops) == 1
        assert len(model.calls) == 10


class TestInsideARunningLoop:
    async def test_chat_sync_inside_async_def(self) -> None:
        # What Jupyter does: sync code called while an event loop runs in this thread.
        assert asyncio.get_running_loop().is_running()
        assert conduit.chat_sync("fake/echo", "from a notebook").text == "from a notebook"

    async def test_stream_and_embed_sync_inside_async_def(self) -> None:
        events = list(conduit.stream_sync("fake/echo", "a b"))
        assert isinstance(events[-1], Done)
        assert len(conduit.embed_sync("fake/hash", "x")) == 1

    async def test_model_sync_twins_inside_async_def(self) -> None:
        m = MockModel(["x"], repeat_last=True)
        assert m.chat_sync("q").text == "x"
        assert [e.type for e in m.stream_sync("q")] == ["text_delta", "usage", "done"]

    async def test_the_callers_loop_is_not_the_bridge_loop(self) -> None:
        async def loop_id() -> int:
            return id(asyncio.get_running_loop())

        assert run_sync(loop_id()) != id(asyncio.get_running_loop())


class TestEarlyExit:
    def test_breaking_out_closes_the_async_generator(self) -> None:
        state = {"started": False, "closed": False}

        async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
            state["started"] = True
            try:
                for word in ["a", " b", " c", " d"]:
                    yield word
            finally:
                state["closed"] = True

        model = FunctionModel(lambda m, o: "unused", stream_fn=pieces)
        for event in model.stream_sync("hi"):
            assert isinstance(event, TextDelta)
            break
        assert state == {"started": True, "closed": True}

    @pytest.mark.skipif(sys.platform == "win32", reason="SIGALRM is POSIX")
    def test_ctrl_c_while_waiting_for_the_next_event_closes_the_generator(self) -> None:
        """Ctrl-C lands while the bridge awaits the next event; the generator's cleanup
        itself awaits (as an HTTP stream's or the local model's does). Closing must wait
        for the interrupted step to unwind, not fail with "already running"."""
        import signal

        closed = threading.Event()

        async def slow() -> AsyncIterator[int]:
            try:
                yield 1
                await asyncio.sleep(30)
                yield 2
            finally:
                await asyncio.sleep(0.05)  # an async cleanup, still running when closed
                closed.set()

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        main = threading.get_ident()
        source = slow()

        def ctrl_c_once_waiting() -> None:
            # Only once the generator sits in its 30 s wait and this thread waits for
            # the step's answer (however long a busy machine takes to get there).
            def waiting() -> bool:
                in_result = any(
                    name == "result" and "futures" in file for file, name, _ in _stack(main)
                )
                return source.ag_await is not None and in_result

            _wait_until(waiting, "the step waits for the next event")
            signal.pthread_kill(main, signal.SIGALRM)

        previous = signal.signal(signal.SIGALRM, interrupt)
        try:
            events = iterate_sync(source)
            assert next(events) == 1
            sender = threading.Thread(target=ctrl_c_once_waiting)
            sender.start()
            with pytest.raises(KeyboardInterrupt):
                next(events)
            sender.join(60)
        finally:
            signal.signal(signal.SIGALRM, previous)
        assert closed.wait(30)

    def test_closing_the_iterator_closes_a_provider_stream(self) -> None:
        closed = threading.Event()

        class Provider(FunctionModel):
            async def _stream(
                self, messages: list[Message], options: ChatOptions
            ) -> AsyncIterator[StreamEvent]:
                try:
                    for i in range(100):
                        yield TextDelta(text=str(i))
                finally:
                    closed.set()

        it = Provider(lambda m, o: "").stream_sync("hi")
        assert next(it) == TextDelta(text="0")
        assert not closed.is_set()
        it.close()  # type: ignore[attr-defined]
        assert closed.is_set()

    def test_dropping_the_iterator_closes_it(self) -> None:
        closed = threading.Event()

        async def numbers() -> AsyncIterator[int]:
            try:
                for i in range(10):
                    yield i
            finally:
                closed.set()

        it = iterate_sync(numbers())
        assert next(it) == 0
        del it
        gc.collect()
        assert closed.is_set()

    def test_an_iterator_without_aclose(self) -> None:
        class Counter:
            def __init__(self) -> None:
                self.i = 0

            def __aiter__(self) -> Counter:
                return self

            async def __anext__(self) -> int:
                self.i += 1
                return self.i

        for n in iterate_sync(Counter()):
            if n == 3:
                break
        assert list(iterate_sync(_agen([1, 2]))) == [1, 2]

    def test_iterator_dropped_on_the_bridge_thread_is_closed_as_a_task(self) -> None:
        closed = asyncio.Event()

        async def numbers() -> AsyncIterator[int]:
            try:
                yield 1
                yield 2
            finally:
                closed.set()

        async def scenario() -> bool:
            agen = numbers()
            await agen.__anext__()
            _bridge.close_iterator(agen)  # as if GC dropped it on this thread
            await asyncio.wait_for(closed.wait(), 30)
            return closed.is_set()

        assert run_sync(scenario()) is True


async def _agen(items: list[int]) -> AsyncIterator[int]:
    for item in items:
        yield item


class TestErrors:
    def test_exceptions_keep_their_type_and_fields(self) -> None:
        err = RateLimitError("slow down", provider="fake", status_code=429, retry_after=3.0)
        with pytest.raises(RateLimitError) as info:
            MockModel([err]).chat_sync("hi")
        assert info.value is err
        assert info.value.retry_after == 3.0
        with pytest.raises(RateLimitError):
            conduit.chat_sync(MockModel([err]), "hi")

    def test_plain_exceptions_too(self) -> None:
        async def boom() -> None:
            raise KeyError("k")

        with pytest.raises(KeyError):
            run_sync(boom())

    def test_errors_mid_stream(self) -> None:
        async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
            yield "partial"
            raise ServerError("stream broke", provider="fake")

        got: list[str] = []

        def consume() -> None:
            model = FunctionModel(lambda m, o: "", stream_fn=pieces)
            for event in conduit.stream_sync(model, "hi"):
                if isinstance(event, TextDelta):
                    got.append(event.text)

        with pytest.raises(ServerError, match="stream broke"):
            consume()
        assert got == ["partial"]

    def test_running_out_of_replies_in_sync_code(self) -> None:
        m = MockModel(["only"])
        m.chat_sync("a")
        with pytest.raises(ConduitError, match="ran out of replies"):
            m.chat_sync("b")

    def test_run_sync_inside_the_bridge_loop_raises(self) -> None:
        async def nested() -> None:
            run_sync(asyncio.sleep(0))

        with pytest.raises(RuntimeError, match="inside Conduit's own event loop"):
            run_sync(nested())

    def test_chat_sync_inside_the_bridge_loop_raises(self) -> None:
        async def nested() -> str:
            return conduit.chat_sync("fake/echo", "hi").text

        with pytest.raises(RuntimeError, match="use the async version"):
            run_sync(nested())
        # the bridge still works afterwards
        assert conduit.chat_sync("fake/echo", "after").text == "after"


class TestBridgeLifecycle:
    def test_shutdown_and_restart(self) -> None:
        bridge = _Bridge()

        async def loop_of() -> asyncio.AbstractEventLoop:
            return asyncio.get_running_loop()

        first = bridge.run(loop_of())
        thread = bridge._thread
        assert thread is not None
        assert thread.name == "conduit-sync-bridge"
        assert thread.daemon
        bridge.shutdown()
        assert first.is_closed()
        assert not thread.is_alive()
        second = bridge.run(loop_of())
        assert second is not first
        bridge.shutdown()
        bridge.shutdown()  # twice is fine

    def test_threads_racing_to_start_the_bridge_get_one_loop(self) -> None:
        bridge = _Bridge()
        loops: list[asyncio.AbstractEventLoop] = []
        lines, first = inspect.getsourcelines(_Bridge.loop)
        at_lock = first + next(i for i, line in enumerate(lines) if "with self._lock" in line)

        def waits_for_the_lock(t: threading.Thread) -> bool:
            stack = _stack(t.ident or 0)
            return bool(stack) and stack[0][1:] == ("loop", at_lock)

        with bridge._lock:  # hold the start: every thread gets past the fast path first
            threads = [
                threading.Thread(target=lambda: loops.append(bridge.loop())) for _ in range(4)
            ]
            for t in threads:
                t.start()
            _wait_until(lambda: all(map(waits_for_the_lock, threads)), "all four at the lock")
        for t in threads:
            t.join(60)
        assert len(loops) == 4
        assert len(set(map(id, loops))) == 1
        bridge.shutdown()

    def test_shutdown_closes_open_async_generators(self) -> None:
        bridge = _Bridge()
        closed = threading.Event()

        async def numbers() -> AsyncIterator[int]:
            try:
                yield 1
                yield 2
            finally:
                closed.set()

        agen = numbers()

        async def first() -> int:
            # first iterated on the bridge's thread, so that loop's hooks track it
            return await agen.__anext__()

        assert bridge.run(first()) == 1
        bridge.shutdown()
        assert closed.is_set()

    def test_after_exit_the_bridge_refuses_work(self) -> None:
        bridge = _Bridge()

        async def one() -> int:
            return 1

        assert bridge.run(one()) == 1
        bridge._at_exit()
        coro = one()
        with pytest.raises(RuntimeError, match="interpreter is exiting"):
            bridge.run(coro)
        assert (
            inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
        )  # closed, so no "never awaited" warning
        # and unfinished iterators are left to shutdown_asyncgens()
        bridge.close_iterator(_agen([1]))
