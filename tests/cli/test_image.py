"""`conduit image`: run through click's CliRunner, offline (`fake/image`) and against a
scripted Images API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner

from conduit.cli.image import describe, image, inline_image
from conduit.media.fake import solid_png

PNG = solid_png(5, 3, (200, 10, 10))


class ImagesServer:
    """`POST /v1/images/generations` answering like the API reference (b64_json)."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _generate(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        if request.headers.get("Authorization") != "Bearer sk-cli-test":
            error = {
                "message": "bad key",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
            return web.json_response({"error": error}, status=401)
        answer = {"created": 1713833628, "data": [{"b64_json": base64.b64encode(PNG).decode()}]}
        return web.json_response(answer)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/images/generations", self._generate)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v1"

    def __enter__(self) -> ImagesServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=60)
        self._loop.close()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImagesServer]:
    with ImagesServer() as running:
        monkeypatch.setenv("OPENAI_BASE_URL", running.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-test")
        yield running


def test_openai_image_saved_to_the_output(server: ImagesServer, tmp_path: Path) -> None:
    out = tmp_path / "fox.png"
    result = CliRunner().invoke(
        image,
        [
            "a",
            "red",
            "fox",
            "-o",
            str(out),
            "--size",
            "1024x1024",
            "--model",
            "openai/gpt-image-1.5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == PNG
    assert server.bodies == [{"model": "gpt-image-1.5", "prompt": "a red fox", "size": "1024x1024"}]
    assert result.output == f"saved {out} (image/png, 5x3, {len(PNG)} bytes)\n"


def test_the_default_model_comes_from_the_environment(
    server: ImagesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONDUIT_IMAGE_MODEL", raising=False)
    result = CliRunner().invoke(image, ["a fox", "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert server.bodies[0]["model"] == "gpt-image-1.5"
    assert (tmp_path / "a.png").read_bytes() == PNG
    monkeypatch.setenv("CONDUIT_IMAGE_MODEL", "fake/image")
    result = CliRunner().invoke(image, ["a fox", "-o", str(tmp_path / "b.png")])
    assert result.exit_code == 0, result.output
    assert len(server.bodies) == 1  # the fake model answered


def test_errors_are_one_line_and_exit_1(
    server: ImagesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    result = CliRunner().invoke(
        image, ["a fox", "-o", str(tmp_path / "x.png"), "-m", "openai/gpt-image-1.5"]
    )
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "sk-wrong" not in result.output
    result = CliRunner().invoke(image, ["a fox", "-m", "anthropic/claude-sonnet-4-5"])
    assert result.exit_code == 1
    assert "has no image generation models" in result.output
    assert not (tmp_path / "x.png").exists()


def test_preview_in_terminals_that_show_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERM_PROGRAM", "iTerm.app")
    result = CliRunner().invoke(
        image,
        ["x", "-m", "fake/image", "--size", "4x4", "-o", str(tmp_path / "i.png"), "--preview"],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("\x1b]1337;File=inline=1;")
    data = (tmp_path / "i.png").read_bytes()
    assert base64.b64encode(data).decode() in result.output
    result = CliRunner().invoke(image, ["x", "-m", "fake/image", "-o", str(tmp_path / "j.png")])
    assert result.output.startswith("saved ")  # not a terminal: no preview unless asked


def test_kitty_protocol_chunks() -> None:
    data = bytes(range(256)) * 40  # 13,656 base64 characters: four chunks
    shown = inline_image(data, "image/png", {"TERM": "xterm-kitty"})
    assert shown is not None
    chunks = shown.strip().split("\x1b\\")[:-1]
    assert len(chunks) == 4
    assert chunks[0].startswith("\x1b_Gf=100,a=T,m=1;")
    assert chunks[-1].startswith("\x1b_Gm=0;")
    joined = "".join(c.split(";", 1)[1] for c in chunks)
    assert base64.b64decode(joined) == data
    assert inline_image(data, "image/jpeg", {"KITTY_WINDOW_ID": "1"}) is None
    assert inline_image(data, "image/png", {"LC_TERMINAL": "iTerm2"}) is not None


def test_describe_sizes() -> None:
    assert (
        describe(Path("a.jpg"), b"\xff\xd8\xff" + b"0" * 20_000, "image/jpeg")
        == "saved a.jpg (image/jpeg, 20 kB)"
    )
    assert describe(Path("c.bin"), b"\0" * 2_500_000, "image/png").endswith("2.5 MB)")
    from tests.media.conftest import make_image

    jpeg = make_image("JPEG", (30, 20))
    assert "30x20" in describe(Path("b.jpg"), jpeg, "image/jpeg")
