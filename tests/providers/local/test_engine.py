"""The engine registry's exit hook, without touching the real llama.cpp state."""

from __future__ import annotations

import io
import sys
import types

import pytest

from conduit.providers.local import engine as engine_module
from conduit.providers.local.engine import Control, Settings, default_threads


class _FakeEngine:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_exit_closes_engines_and_llama_cpps_devnull_files(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeEngine()
    monkeypatch.setattr(engine_module, "_engines", {("m.gguf", Settings()): fake})
    utils = types.ModuleType("llama_cpp._utils")
    utils.outnull_file = io.StringIO()  # type: ignore[attr-defined]
    utils.errnull_file = io.StringIO()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp._utils", utils)
    engine_module._close_all()
    assert fake.closed
    assert utils.outnull_file.closed
    assert utils.errnull_file.closed


def test_exit_without_llama_cpp_loaded_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "_engines", {})
    monkeypatch.delitem(sys.modules, "llama_cpp._utils", raising=False)
    engine_module._close_all()  # no error


def test_control_is_a_stopping_criterion() -> None:
    control = Control()
    assert control([], []) is False
    control.cancel()
    assert control.cancelled
    assert control([], []) is True


def test_default_threads_is_at_least_one() -> None:
    assert default_threads() >= 1
