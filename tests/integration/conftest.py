"""A real llama.cpp OpenAI-compatible server (`python -m llama_cpp.server`) running the
embedded SmolLM2 model on 127.0.0.1, shared by the integration tests of this folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from conduit.providers.local.files import DEFAULT_CHAT_MODEL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    # The server logs a lot while loading; a file, not a pipe nobody reads (a full pipe
    # would stall it).
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(DEFAULT_CHAT_MODEL.path()),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/models", timeout=1) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if process.poll() is not None:
                log.close()
                pytest.fail(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                log.close()
                pytest.fail("llama_cpp.server did not answer within 60 s")
            time.sleep(0.2)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
        process.kill()
        process.wait()
    log.close()
