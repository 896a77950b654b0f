"""API keys: explicit first, then the provider's environment variable."""

from __future__ import annotations

import pytest

from conduit.catalog import require_key, resolve_key
from conduit.errors import AuthenticationError

VAR = "CONDUIT_TEST_API_KEY"


def test_explicit_key_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "sk-from-env")
    assert resolve_key("sk-given", VAR) == "sk-given"


def test_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "  sk-from-env\n")
    assert resolve_key(None, VAR) == "sk-from-env"  # whitespace from a .env file is trimmed
    assert resolve_key("", VAR) == "sk-from-env"  # an empty explicit key counts as none


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_or_blank_is_none(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, value)
    assert resolve_key(None, VAR) is None


def test_no_variable_configured() -> None:
    assert resolve_key(None, None) is None
    assert resolve_key("sk-x", None) == "sk-x"


def test_require_key_returns_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "sk-env")
    assert require_key(None, VAR, "acme") == "sk-env"
    assert require_key("sk-given", VAR, "acme") == "sk-given"


def test_require_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    with pytest.raises(AuthenticationError) as info:
        require_key(None, VAR, "acme")
    err = info.value
    assert err.provider == "acme"
    assert f"set the {VAR} environment variable or pass api_key=" in str(err)
    assert str(err).startswith("[acme] no API key for acme")
