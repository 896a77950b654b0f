"""`conduit ask -o KEY VALUE` and `--extract` (issue 26)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

import conduit.api as api
from conduit.cli.main import main
from conduit.providers.fake import FunctionModel
from conduit.schema import Response, TextBlock


class _TerminalStdin:
    def isatty(self) -> bool:
        return True


def test_options_and_extract(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", _TerminalStdin())
    seen: dict[str, Any] = {}

    def reply(messages: list[Any], options: Any) -> Response:
        seen["options"] = options
        return Response(content=[TextBlock(text="Sure:\n```sh\nls -la\n```\nThat lists.")])

    model = FunctionModel(reply)
    monkeypatch.setattr(api, "model", lambda ref, **kw: model)
    args = ["ask", "--no-log", "-m", "x/y", "-o", "top_p", "0.5", "-o", "top_k", "20", "-x", "?"]
    assert main(args) == 0
    assert capsys.readouterr().out == "ls -la\n"
    assert seen["options"].top_p == 0.5
    assert seen["options"].extra == {"top_k": 20}
