"""The error hierarchy: shaped by what the caller does next, fields kept, no secrets."""

from __future__ import annotations

import builtins
import copy
import pickle

import pytest

from conduit import errors
from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConduitError,
    ContentFilterError,
    ContextWindowExceededError,
    MaxIterationsError,
    MissingDependencyError,
    ModelLoadError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    SchemaVersionError,
    ServerError,
    StorageError,
    TimeoutError,
    ToolExecutionError,
    ValidationError,
)

# class -> its parent in the documented tree
PARENTS: dict[type[ConduitError], type[Exception]] = {
    ConduitError: Exception,
    ValidationError: ConduitError,
    MaxIterationsError: ConduitError,
    BudgetExceededError: ConduitError,
    ToolExecutionError: ConduitError,
    ProviderError: ConduitError,
    AuthenticationError: ProviderError,
    PermissionDeniedError: ProviderError,
    NotFoundError: ProviderError,
    BadRequestError: ProviderError,
    ContextWindowExceededError: BadRequestError,
    ContentFilterError: BadRequestError,
    RateLimitError: ProviderError,
    ServerError: ProviderError,
    APIConnectionError: ProviderError,
    TimeoutError: APIConnectionError,
    MissingDependencyError: ConduitError,
    ModelLoadError: ProviderError,
    StorageError: ConduitError,
    SchemaVersionError: StorageError,
}
ALL = list(PARENTS)


def test_every_exported_error_is_in_the_tree() -> None:
    exported = [getattr(errors, name) for name in errors.__all__]
    errors_only = {e for e in exported if isinstance(e, type) and issubclass(e, BaseException)}
    assert errors_only == set(PARENTS)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_parent(cls: type[ConduitError]) -> None:
    assert PARENTS[cls] in cls.__bases__


def test_deep_chain() -> None:
    exc = ContextWindowExceededError("too long", provider="openai", status_code=400)
    for cls in (ContextWindowExceededError, BadRequestError, ProviderError, ConduitError):
        assert isinstance(exc, cls)
    assert not isinstance(exc, RateLimitError)
    assert isinstance(TimeoutError("t"), APIConnectionError)
    assert isinstance(TimeoutError("t"), ProviderError)


def test_validation_error_is_also_a_value_error() -> None:
    assert issubclass(ValidationError, ValueError)
    with pytest.raises(ValueError, match="bad"):
        raise ValidationError("bad")
    # nothing else pretends to be a ValueError
    assert not issubclass(BadRequestError, ValueError)


def test_builtins_stay_reachable() -> None:
    assert not issubclass(builtins.TimeoutError, TimeoutError)
    assert errors.TimeoutError.__module__ == "conduit.errors"


def test_message_rendering_with_every_field() -> None:
    exc = RateLimitError(
        "slow down",
        provider="openai",
        status_code=429,
        request_id="req_123",
        retry_after=2.5,
        body='{"error": "rate"}',
    )
    assert str(exc) == (
        "[openai, HTTP 429, request req_123] slow down — "
        "Wait and retry (see retry_after), or lower the request rate."
    )
    assert exc.message == "slow down"
    assert (exc.provider, exc.status_code, exc.request_id) == ("openai", 429, "req_123")
    assert exc.retry_after == 2.5
    assert exc.body == '{"error": "rate"}'
    assert exc.args == (str(exc),)


@pytest.mark.parametrize(
    ("kwargs", "prefix"),
    [
        ({}, ""),
        ({"provider": "anthropic"}, "[anthropic] "),
        ({"status_code": 500}, "[HTTP 500] "),
        ({"request_id": "r1"}, "[request r1] "),
        ({"provider": "p", "status_code": 0}, "[p, HTTP 0] "),  # 0 is a value, not missing
        ({"retry_after": 1.0, "body": "x"}, ""),  # not part of the message
    ],
)
def test_where_prefix(kwargs: dict[str, object], prefix: str) -> None:
    exc = ServerError("boom", **kwargs)  # type: ignore[arg-type]
    assert str(exc) == f"{prefix}boom — {ServerError.hint}"


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_hint_is_appended_when_there_is_one(cls: type[ConduitError]) -> None:
    text = str(cls("it failed"))
    if cls.hint:
        assert text == f"it failed — {cls.hint}"
    else:
        assert text == "it failed"


def test_classes_without_a_hint() -> None:
    assert ConduitError.hint == ""
    assert ProviderError.hint == ""
    assert ToolExecutionError.hint == ""


def test_hint_is_not_repeated() -> None:
    message = f"quota gone. {RateLimitError.hint}"
    assert str(RateLimitError(message)) == message


def test_subclasses_have_their_own_hints() -> None:
    assert "max_tokens" in ContextWindowExceededError.hint
    assert "API key" in AuthenticationError.hint
    assert BadRequestError.hint != ContextWindowExceededError.hint


def test_repr_shows_set_fields_only_and_never_the_body() -> None:
    exc = RateLimitError(
        "slow", provider="openai", status_code=429, retry_after=2.0, body="sk-secret-body"
    )
    assert (
        repr(exc) == "RateLimitError('slow', provider='openai', status_code=429, retry_after=2.0)"
    )
    assert "sk-secret" not in repr(exc)
    assert "sk-secret" not in str(exc)
    assert repr(NotFoundError("gone")) == "NotFoundError('gone')"


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_pickle_round_trip_keeps_fields(cls: type[ConduitError]) -> None:
    exc = cls(
        "failed",
        provider="openai",
        status_code=418,
        request_id="req_9",
        retry_after=1.5,
        body="{}",
    )
    for again in (pickle.loads(pickle.dumps(exc)), copy.copy(exc), copy.deepcopy(exc)):
        assert type(again) is cls
        assert again.message == "failed"
        assert (again.provider, again.status_code, again.request_id) == ("openai", 418, "req_9")
        assert again.retry_after == 1.5
        assert again.body == "{}"
        assert str(again) == str(exc)
        assert repr(again) == repr(exc)


def test_pickle_without_optional_fields() -> None:
    again = pickle.loads(pickle.dumps(ValidationError("bad input")))
    assert isinstance(again, ValidationError)
    assert again.provider is None
    assert str(again) == str(ValidationError("bad input"))


def test_raise_from_keeps_the_cause() -> None:
    def translate() -> None:
        try:
            raise OSError("reset")
        except OSError as exc:
            raise APIConnectionError("connection reset", provider="p") from exc

    with pytest.raises(ProviderError) as info:
        translate()
    assert isinstance(info.value.__cause__, OSError)


def test_a_missing_dependency_is_also_an_import_error() -> None:
    exc = MissingDependencyError('needs numpy; install it with: pip install "conduit[local]"')
    assert isinstance(exc, ImportError)
    assert pickle.loads(pickle.dumps(exc)).message == exc.message
    assert str(exc).endswith("Install it with the pip command above.")


@pytest.mark.parametrize(
    ("error", "category", "retryable"),
    [
        (RateLimitError("slow"), "retry", True),
        (ServerError("busy"), "retry", True),
        (TimeoutError("late"), "retry", True),
        (APIConnectionError("cut"), "retry", True),
        (BadRequestError("bad", status_code=400), "fix_input", False),
        (BadRequestError("conflict", status_code=409), "fix_input", True),
        (ProviderError("gateway", status_code=502), "internal", True),
        (NotFoundError("no such model"), "fix_input", False),
        (AuthenticationError("key"), "fix_credentials", False),
        (PermissionDeniedError("scope"), "fix_credentials", False),
        (ValidationError("input"), "fix_input", False),
        (MissingDependencyError("pip install x"), "fix_setup", False),
        (
            BudgetExceededError("spent", scope="key", name="k", spent=1.0, limit=1.0),
            "fix_setup",
            False,
        ),
        (ConduitError("bug"), "internal", False),
    ],
)
def test_every_error_says_what_to_do_and_whether_to_retry(
    error: ConduitError, category: str, retryable: bool
) -> None:
    assert (error.category, error.retryable) == (category, retryable)


def test_the_server_may_override_retryable_and_it_survives_pickling() -> None:
    error = ServerError("busy", status_code=503, retryable=False)
    assert error.retryable is False
    error.retryable = True
    assert pickle.loads(pickle.dumps(error)).retryable is True
    budget = BudgetExceededError("spent", scope="key", name="k", spent=2.0, limit=1.0)
    again = pickle.loads(pickle.dumps(budget))
    assert (again.scope, again.name, again.spent, again.limit) == ("key", "k", 2.0, 1.0)
