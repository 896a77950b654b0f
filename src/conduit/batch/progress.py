"""Batch progress on the terminal: a rich progress bar on a TTY, plain lines otherwise.

The bar shows items done of total, failures, tokens, cost, rate and time left. Where
`rich` is not installed or the output is not a terminal (a log file, CI), a plain line
is printed at most once a second and at the end. Terminal rendering lives here and in
`conduit.cli` only.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> progress = make_progress(Verbosity.PROGRESS, 2, stream=out)
    >>> progress.advance(ok=True, input_tokens=10, output_tokens=5, cost=0.001)
    >>> progress.advance(ok=False)
    >>> progress.close()
    >>> out.getvalue().splitlines()[-1].startswith("[2/2] 1 failed · 15 tokens · $0.0010")
    True
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO, TypeVar, overload

from conduit.batch.verbosity import Verbosity
from conduit.errors import ValidationError

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "BatchProgress",
    "PlainProgress",
    "Progress",
    "RichProgress",
    "make_progress",
    "progress_display",
]


class Progress(Protocol):
    """What a batch reports to: one `advance` per finished item, then `close`."""

    def advance(
        self, *, ok: bool, input_tokens: int = 0, output_tokens: int = 0, cost: float = 0.0
    ) -> None: ...

    def close(self) -> None: ...


class BatchProgress:
    """Counts of a run: done, failed, tokens and cost, with rate and time left.

    Example:
        >>> p = BatchProgress(4)
        >>> p.advance(ok=True, input_tokens=3)
        >>> p.done, p.failed, p.tokens
        (1, 0, 3)
    """

    def __init__(self, total: int, *, done: int = 0) -> None:
        self.total = total
        self.done = done
        self.failed = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost = 0.0
        self._resumed = done
        self._started = time.monotonic()

    def resume_from(self, done: int) -> None:
        """Count `done` items as finished by an earlier run (not in the rate)."""
        self.done = max(self.done, done)
        self._resumed = self.done

    def advance(
        self, *, ok: bool, input_tokens: int = 0, output_tokens: int = 0, cost: float = 0.0
    ) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        self.add_usage(input_tokens, output_tokens, cost)

    def add_usage(self, input_tokens: int = 0, output_tokens: int = 0, cost: float = 0.0) -> None:
        """Count tokens and cost (also of calls inside an item, e.g. retries)."""
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost += cost

    @property
    def tokens(self) -> int:
        """Input plus output tokens so far."""
        return self.input_tokens + self.output_tokens

    @property
    def rate(self) -> float:
        """Items per second since the start (resumed items not counted)."""
        elapsed = time.monotonic() - self._started
        return (self.done - self._resumed) / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, None before the first item."""
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None

    def line(self) -> str:
        """One status line: `[done/total] N failed · tokens · $cost · rate/s · ETA`."""
        eta = self.eta
        return (
            f"[{self.done}/{self.total}] {self.failed} failed · {self.tokens:,} tokens · "
            f"${self.cost:.4f} · {self.rate:.1f}/s · ETA {_duration(eta)}"
        )

    def close(self) -> None:
        """Nothing to release for plain counts."""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class _Silent(BatchProgress):
    pass


class PlainProgress(BatchProgress):
    """Plain status lines, at most one per `every` seconds, and a last one on `close`.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> p = PlainProgress(1, stream=out)
        >>> p.advance(ok=True)
        >>> p.close()
        >>> out.getvalue().count("[1/1]") >= 1
        True
    """

    def __init__(
        self, total: int, *, done: int = 0, stream: TextIO | None = None, every: float = 1.0
    ) -> None:
        super().__init__(total, done=done)
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self._last = 0.0

    def advance(
        self, *, ok: bool, input_tokens: int = 0, output_tokens: int = 0, cost: float = 0.0
    ) -> None:
        super().advance(ok=ok, input_tokens=input_tokens, output_tokens=output_tokens, cost=cost)
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._write()

    def _write(self) -> None:
        self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._write()


class RichProgress(BatchProgress):
    """A live rich progress bar (needs the `cli` extra and a terminal)."""

    def __init__(self, total: int, *, done: int = 0, stream: TextIO | None = None) -> None:
        super().__init__(total, done=done)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        console = Console(file=stream if stream is not None else sys.stderr)
        self._bar = Bar(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: Any = self._bar.add_task("batch", total=total, completed=done, status="")
        self._bar.start()

    def advance(
        self, *, ok: bool, input_tokens: int = 0, output_tokens: int = 0, cost: float = 0.0
    ) -> None:
        super().advance(ok=ok, input_tokens=input_tokens, output_tokens=output_tokens, cost=cost)
        status = (
            f"{self.failed} failed · {self.tokens:,} tok · ${self.cost:.4f} · {self.rate:.1f}/s"
        )
        self._bar.update(self._task, completed=self.done, status=status)

    def resume_from(self, done: int) -> None:
        super().resume_from(done)
        self._bar.update(self._task, completed=self.done)

    def close(self) -> None:
        self._bar.stop()


def make_progress(
    verbosity: Verbosity | bool | int | str | None,
    total: int,
    *,
    done: int = 0,
    stream: TextIO | None = None,
) -> BatchProgress:
    """The progress display a verbosity asks for: nothing when SILENT, a rich bar on a
    terminal when rich is installed, plain lines otherwise."""
    level = Verbosity.from_input(verbosity)
    if level < Verbosity.PROGRESS:
        return _Silent(total, done=done)
    out = stream if stream is not None else sys.stderr
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        try:
            return RichProgress(total, done=done, stream=out)
        except ImportError:
            pass
    return PlainProgress(total, done=done, stream=out)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


class _Shown:
    """One call's display: a spinner while it runs (a terminal with rich), a line after."""

    def __init__(
        self, label: str, level: Verbosity, stream: TextIO, plain_lines: bool, where: str
    ) -> None:
        self.label = f"{where}{label}"
        self.where = where
        self.level = level
        self.stream = stream
        self.terminal = _is_terminal(stream)
        self.plain_lines = plain_lines
        self.started = time.perf_counter()
        self._status: Any = None
        if level >= Verbosity.PROGRESS and self.terminal:
            try:
                from rich.console import Console
            except ImportError:
                return
            self._status = Console(file=stream).status(self.label)
            self._status.start()

    def done(self, result: Any = None, error: BaseException | None = None) -> None:
        if self._status is not None:
            self._status.stop()
        if self.level < Verbosity.PROGRESS:
            return
        if not self.terminal and (self.level < Verbosity.SUMMARY or not self.plain_lines):
            return
        seconds = time.perf_counter() - self.started
        if error is not None:
            line = f"✗ {self.label} failed: {type(error).__name__} ({seconds:.2f}s)"
        else:
            from conduit.batch.panels import summary_line
            from conduit.schema import Response

            if isinstance(result, Response):  # the summary names the model itself
                line = f"✓ {self.where}{summary_line(result)}"
            else:
                line = f"✓ {self.label} · {seconds:.2f}s"
        self.stream.write(line + "\n")
        self.stream.flush()


def _where(arguments: dict[str, Any]) -> str:
    index, total = arguments.get("index"), arguments.get("total")
    if isinstance(index, int) and isinstance(total, int) and total > 0:
        return f"[{index}/{total}] "
    return ""


@overload
def progress_display(fn: F) -> F: ...
@overload
def progress_display(
    fn: None = None,
    *,
    label: str | Callable[[dict[str, Any]], str] | None = None,
    stream: TextIO | None = None,
    plain_lines: bool = True,
) -> Callable[[F], F]: ...
def progress_display(
    fn: F | None = None,
    *,
    label: str | Callable[[dict[str, Any]], str] | None = None,
    stream: TextIO | None = None,
    plain_lines: bool = True,
) -> F | Callable[[F], F]:
    """Show progress around any function (sync or async), at the level of its `verbose=`
    argument (a `Verbosity`, a bool, 0-5 or `"v"`s; the function's default, else
    PROGRESS): on a terminal a spinner while it runs (rich) and a `✓`/`✗` line when it
    ends; off a terminal one plain line from SUMMARY up (`plain_lines=False`: none).
    The line holds the answer's summary when the result is a `Response`, and
    `[index/total]` when the call has those arguments. `label` names the call (default:
    the function's name); it may be a function of the call's arguments (a dict).
    Output goes to `stream` (standard error by default); the result and any exception
    pass through unchanged.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> @progress_display(label="adding", stream=out)
        ... def add(a, b, verbose=Verbosity.PROGRESS):
        ...     return a + b
        >>> add(1, 2), add(2, 3, verbose="summary")
        (3, 5)
        >>> out.getvalue().startswith("✓ adding · ")
        True
    """

    def decorate(function: F) -> F:
        # Where each argument the display reads sits, found once: binding the whole
        # signature on every call would cost more than the display itself.
        where: dict[str, tuple[int | None, Any]] = {}
        for position, parameter in enumerate(inspect.signature(function).parameters.values()):
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            positional = parameter.kind != parameter.KEYWORD_ONLY
            default = None if parameter.default is parameter.empty else parameter.default
            where[parameter.name] = (position if positional else None, default)
        name = label or function.__qualname__

        def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Shown:
            arguments: dict[str, Any] = {}
            for key, (position, default) in where.items():
                if key in kwargs:
                    arguments[key] = kwargs[key]
                elif position is not None and position < len(args):
                    arguments[key] = args[position]
                else:
                    arguments[key] = default
            arguments.setdefault("verbose", Verbosity.PROGRESS)
            try:
                level = Verbosity.from_input(arguments.get("verbose", Verbosity.PROGRESS))
            except ValidationError:  # the function itself reports a bad level
                level = Verbosity.SILENT
            out = stream if stream is not None else sys.stderr
            text = name(arguments) if callable(name) else name
            return _Shown(text, level, out, plain_lines, _where(arguments))

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                shown = start(args, kwargs)
                try:
                    result = await function(*args, **kwargs)
                except BaseException as exc:
                    shown.done(error=exc)
                    raise
                shown.done(result)
                return result

            wrapped: Any = run_async
        else:

            @functools.wraps(function)
            def run(*args: Any, **kwargs: Any) -> Any:
                shown = start(args, kwargs)
                try:
                    result = function(*args, **kwargs)
                except BaseException as exc:
                    shown.done(error=exc)
                    raise
                shown.done(result)
                return result

            wrapped = run
        decorated: F = wrapped
        return decorated

    if fn is not None:
        return decorate(fn)
    return decorate
