"""`conduit keys` and `conduit serve` (click objects invoked directly)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from conduit.cli.keys import keys
from conduit.cli.serve import run_gateway, serve
from conduit.server.config import parse_config
from conduit.storage.keys import hash_secret


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    db = str(tmp_path / "keys.sqlite3")
    runner = CliRunner()
    made = runner.invoke(
        keys,
        [
            "--database",
            db,
            "create",
            "--name",
            "team-a",
            "--model",
            "chat",
            "--rpm",
            "5",
            "--max-budget",
            "2",
            "--budget-window",
            "1d",
            "--tag",
            "ci",
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    secret = created["key"]
    assert secret.startswith("sk-cnd-")
    assert created["models"] == ["chat"]
    assert created["rpm"] == 5
    plain = runner.invoke(keys, ["--database", db, "create"])
    assert plain.exit_code == 0
    assert plain.stdout.strip().startswith("sk-cnd-")

    listed = runner.invoke(keys, ["--database", db, "list", "--json"])
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == ["team-a", None]
    assert secret not in listed.stdout
    assert "key" not in rows[0]
    text = runner.invoke(keys, ["--database", db, "list"]).stdout
    assert "team-a" in text
    assert "models=chat" in text
    assert "rpm=5" in text
    assert secret not in text

    gone = runner.invoke(keys, ["--database", db, "revoke", created["id"]])
    assert gone.exit_code == 0
    again = runner.invoke(keys, ["--database", db, "revoke", created["id"]])
    assert again.exit_code == 1
    assert "no active key" in again.output
    assert len(json.loads(runner.invoke(keys, ["--database", db, "list", "--json"]).stdout)) == 1
    every = json.loads(runner.invoke(keys, ["--database", db, "list", "--all", "--json"]).stdout)
    assert every[0]["revoked_at"] is not None
    assert "revoked" in runner.invoke(keys, ["--database", db, "list", "--all"]).stdout
    # Only the hash is stored: the secret is nowhere in the file.
    raw = Path(db).read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("keys.sqlite3-*"))
    assert secret.encode() not in raw
    assert hash_secret(secret).encode() in raw


def test_keys_errors_and_config(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(keys, ["--database", str(tmp_path / "k"), "create", "--rpm", "0"])
    assert bad.exit_code == 2  # a bad value is a usage error, checked before the store
    assert "rpm must be a positive, finite number" in bad.output
    window = runner.invoke(
        keys, ["--database", str(tmp_path / "k"), "create", "--budget-window", "soon"]
    )
    assert window.exit_code == 2
    assert "budget_window looks like" in window.output
    config = tmp_path / "gateway.yaml"
    db = tmp_path / "from-config.sqlite3"
    config.write_text(
        f"model_list:\n  - model_name: chat\n    litellm_params: {{model: fake/echo}}\n"
        f"server:\n  database: {db}\n"
    )
    assert runner.invoke(keys, ["--config", str(config), "create"]).exit_code == 0
    assert db.exists()
    empty = runner.invoke(keys, ["--database", str(tmp_path / "none.sqlite3"), "list"])
    assert "no keys" in empty.output


def test_serve_reports_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("model_list: []\n")
    result = CliRunner().invoke(serve, ["--config", str(config)])
    assert result.exit_code == 1
    assert "non-empty model_list" in result.output
    missing = CliRunner().invoke(serve, ["--config", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1
    assert "cannot read" in missing.output


async def test_run_gateway_serves_until_sigterm(tmp_path: Path) -> None:
    config = parse_config(
        {
            "model_list": [{"model_name": "chat", "litellm_params": {"model": "fake/echo"}}],
            "server": {"database": str(tmp_path / "g.sqlite3"), "require_key": False},
        }
    )
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    task = asyncio.ensure_future(run_gateway(config, "127.0.0.1", port))
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    body = {"model": "chat", "messages": [{"role": "user", "content": "ping"}]}
    deadline = asyncio.get_running_loop().time() + 60  # a hang guard for the start
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.post(url, json=body) as response:
                    answer = await response.json()
                break
            except aiohttp.ClientConnectionError:
                if task.done():
                    task.result()  # it stopped: say why
                assert asyncio.get_running_loop().time() < deadline, "the gateway never listened"
                await asyncio.sleep(0.05)
    assert answer["choices"][0]["message"]["content"] == "ping"
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, timeout=60)


@pytest.mark.parametrize("args", [["--help"]])
def test_serve_help(args: list[str]) -> None:
    assert "--port" in CliRunner().invoke(serve, args).output
