"""The sync bridge: run Conduit's coroutines from synchronous code.

All sync twins (`chat_sync`, `stream_sync`, ...) go through `run_sync`/`iterate_sync`,
which run the coroutine on one private event loop in a daemon thread. That works the
same from a plain script, from any thread, and from inside a running event loop such
as Jupyter's (where `asyncio.run()` would fail), and it keeps one connection pool for
all sync calls. At interpreter exit the loop shuts down its async generators, which
closes the pools opened on it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["iterate_sync", "run_sync"]

T = TypeVar("T")


class _Bridge:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._exiting = False
        self._atexit_registered = False

    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._exiting:
                # Starting a thread during interpreter finalization hangs; fail instead.
                raise RuntimeError("Conduit's sync bridge is shut down: the interpreter is exiting")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._run, args=(loop, ready), name="conduit-sync-bridge", daemon=True
                )
                thread.start()
                ready.wait()
                self._thread = thread
                self._loop = loop
                if not self._atexit_registered:
                    atexit.register(self._at_exit)
                    self._atexit_registered = True
            return self._loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    def in_bridge_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def run(
        self, coro: Coroutine[Any, Any, T], on_interrupt: Callable[[], None] | None = None
    ) -> T:
        if self.in_bridge_thread():
            coro.close()
            raise RuntimeError(
                "a Conduit sync function was called from inside Conduit's own event loop; "
                "use the async version (await ...) there"
            )
        try:
            loop = self.loop()
        except BaseException:
            coro.close()  # never started: no "coroutine was never awaited" warning
            raise
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            try:
                return future.result()
            except KeyboardInterrupt:
                if on_interrupt is None:
                    raise
                # Ctrl-C: let the coroutine wind down itself (e.g. keep what a batch has
                # finished) and wait for its answer; a second Ctrl-C cancels it outright.
                loop.call_soon_threadsafe(on_interrupt)
                return future.result()
        except BaseException:
            future.cancel()
            raise

    def close_iterator(self, agen: AsyncIterator[Any]) -> None:
        """Close an async iterator that a sync loop left unfinished."""
        aclose = getattr(agen, "aclose", None)
        if aclose is None or self._exiting:
            # At exit, `shutdown_asyncgens()` has already closed every async generator
            # that ran on the bridge's loop.
            return
        loop = self._loop
        if loop is not None and self.in_bridge_thread():
            # Dropped (garbage-collected) on the bridge's own thread: blocking here would
            # deadlock the loop, so close it as a task instead.
            loop.create_task(_aclose_when_idle(aclose))
            return
        self.run(_aclose_when_idle(aclose))

    def _at_exit(self) -> None:
        self._exiting = True
        self.shutdown()

    def shutdown(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = None
            self._thread = None
        if loop is None or thread is None or loop.is_closed():
            return
        with contextlib.suppress(Exception):  # best effort at exit
            asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not loop.is_running():
            loop.close()


async def _aclose_when_idle(aclose: Callable[[], Awaitable[object]]) -> None:
    """`aclose()` an async generator once it is idle. After Ctrl-C the step that was
    waiting for its next item is cancelled, but the generator unwinds on its own (its
    `finally` may await, as closing an HTTP stream does); closing it meanwhile raises
    "already running", so wait for that to finish (up to 10 s)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        try:
            await aclose()
            return
        except RuntimeError as exc:
            busy = "already running" in str(exc)
            if not busy or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.005)


_bridge = _Bridge()


def run_sync(coro: Coroutine[Any, Any, T], on_interrupt: Callable[[], None] | None = None) -> T:
    """Run a coroutine to completion from synchronous code and return its result.

    Ctrl-C cancels the coroutine and raises `KeyboardInterrupt`, unless `on_interrupt`
    is given: then it is called on the coroutine's event loop (to ask the coroutine to
    finish early) and its result is still returned; a second Ctrl-C cancels it.

    Example:
        >>> async def add(a, b):
        ...     return a + b
        >>> run_sync(add(1, 2))
        3
    """
    return _bridge.run(coro, on_interrupt)


def iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator from synchronous code; closing the iterator closes it.

    Example:
        >>> async def count():
        ...     for i in range(3):
        ...         yield i
        >>> list(iterate_sync(count()))
        [0, 1, 2]
    """

    async def step() -> tuple[bool, T | None]:
        try:
            return True, await agen.__anext__()
        except StopAsyncIteration:
            return False, None

    finished = False
    try:
        while True:
            more, item = run_sync(step())
            if not more:
                finished = True
                return
            yield item  # type: ignore[misc]
    finally:
        if not finished:
            _bridge.close_iterator(agen)
