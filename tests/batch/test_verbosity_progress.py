"""Verbosity levels, the progress display and the request/response panels."""

from __future__ import annotations

import io
import pickle

import pytest

from conduit.batch import (
    BatchItemError,
    BatchProgress,
    PlainProgress,
    RichProgress,
    Verbosity,
    error_category,
    make_progress,
    show_exchange,
    summary_line,
)
from conduit.errors import (
    AuthenticationError,
    MissingDependencyError,
    NotFoundError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from conduit.schema import Response, TextBlock, Usage, user


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("given", "level"),
    [
        (None, Verbosity.SILENT),
        (False, Verbosity.SILENT),
        (True, Verbosity.PROGRESS),
        (0, Verbosity.SILENT),
        (4, Verbosity.COMPLETE),
        ("v", Verbosity.PROGRESS),
        ("vvvv", Verbosity.COMPLETE),
        ("vvvvvvvv", Verbosity.DEBUG),
        ("detailed", Verbosity.DETAILED),
        (" Debug ", Verbosity.DEBUG),
        (Verbosity.SUMMARY, Verbosity.SUMMARY),
    ],
)
def test_verbosity_from_input(given: object, level: Verbosity) -> None:
    assert Verbosity.from_input(given) is level  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [6, -1, "loud", "", "vx"])
def test_bad_verbosity_is_a_clear_error(bad: object) -> None:
    with pytest.raises(ValidationError, match="verbosity"):
        Verbosity.from_input(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (RateLimitError("x"), "retry"),
        (TimeoutError("x"), "retry"),
        (AuthenticationError("x"), "fix_credentials"),
        (NotFoundError("x"), "fix_input"),
        (ValidationError("x"), "fix_input"),
        (MissingDependencyError("x"), "fix_setup"),
        (KeyError("x"), "internal"),
    ],
)
def test_error_categories(error: BaseException, category: str) -> None:
    assert error_category(error) == category
    captured = BatchItemError.from_exception(error, index=0)
    assert captured.category == category
    assert error_category(captured) == category


def test_item_errors_round_trip_through_dict_and_pickle() -> None:
    error = BatchItemError.from_exception(
        RateLimitError("slow", provider="openai", status_code=429, retry_after=3.0),
        index=7,
        request={"model": "openai/gpt-4o"},
        attempts=3,
    )
    for copy in (BatchItemError.from_dict(error.to_dict()), pickle.loads(pickle.dumps(error))):
        assert copy.to_dict() == error.to_dict()
        assert (copy.index, copy.retries, copy.retry_after) == (7, 2, 3.0)
    assert "index=7" in repr(error)


def test_silent_prints_nothing() -> None:
    out = FakeTTY()
    progress = make_progress(Verbosity.SILENT, 3, stream=out)
    progress.advance(ok=True)
    progress.close()
    assert out.getvalue() == ""


def test_plain_progress_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = make_progress("v", 3, stream=out)
    assert isinstance(progress, PlainProgress)
    progress.advance(ok=True, input_tokens=1000, output_tokens=234, cost=0.5)
    progress.advance(ok=False)
    progress.close()
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("[2/3] 1 failed · 1,234 tokens · $0.5000 ·")
    assert "/s · ETA" in last


def test_rich_progress_on_a_terminal() -> None:
    out = FakeTTY()
    progress = make_progress(Verbosity.PROGRESS, 2, stream=out)
    assert isinstance(progress, RichProgress)
    progress.advance(ok=True, input_tokens=5, cost=0.25)
    progress.advance(ok=False)
    progress.close()
    text = out.getvalue()
    assert "2/2" in text
    assert "1 failed" in text
    assert "$0.2500" in text


def test_rate_and_eta() -> None:
    progress = BatchProgress(10, done=4)
    assert progress.eta is None  # nothing done in this run yet
    progress.advance(ok=True)
    assert progress.rate > 0
    assert progress.eta is not None
    assert progress.eta > 0
    assert progress.line().startswith("[5/10] 0 failed")


ANSWER = Response(
    model="gpt-4o",
    provider="openai",
    content=[TextBlock(text="x" * 1000)],
    usage=Usage(input_tokens=12, output_tokens=34),
    duration=1.5,
    cost=0.0012,
)


def test_summary_line() -> None:
    assert summary_line(ANSWER) == "openai/gpt-4o · 12 in / 34 out tokens · $0.001200 · 1.50s"


@pytest.mark.parametrize(
    ("level", "has_request", "full", "has_options"),
    [
        (Verbosity.PROGRESS, False, False, False),
        (Verbosity.SUMMARY, False, False, False),
        (Verbosity.DETAILED, True, False, False),
        (Verbosity.COMPLETE, True, True, False),
        (Verbosity.DEBUG, True, True, True),
    ],
)
def test_panels_by_level(
    level: Verbosity, has_request: bool, full: bool, has_options: bool
) -> None:
    out = io.StringIO()
    show_exchange(level, [user("hello")], ANSWER, options={"temperature": 0}, stream=out)
    text = out.getvalue()
    assert ("openai/gpt-4o" in text) is (level >= Verbosity.SUMMARY)
    assert ("--- request" in text) is has_request
    assert ("x" * 1000 in text) is full
    assert ("temperature" in text) is has_options
    if has_request and not full:
        assert "… (+600)" in text


def test_panels_drawn_with_rich_on_a_terminal() -> None:
    out = FakeTTY()
    show_exchange(Verbosity.DETAILED, [user("hello")], ANSWER, stream=out)
    text = out.getvalue()
    assert "request" in text
    assert "user: hello" in text
    assert "╭" in text
