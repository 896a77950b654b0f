"""The official `openai` npm package (Node) as a second real client of the gateway.

The package is installed from tests/server/node/package-lock.json into that folder's
node_modules (ignored by git) when it is missing; skipped when `node`/`npm` are absent.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conduit.server.app import Gateway
from tests.support.openai_server import REPLY

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def node_client() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed (Node 20+ runs the openai npm client test)")
    if not (NODE_DIR / "node_modules" / "openai").is_dir():
        # `npm ci` installs exactly the locked versions (it needs the npm registry once).
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed in {NODE_DIR}: {done.stderr[-2000:]}")
    return NODE_DIR / "client.mjs"


async def test_openai_npm_client(
    node_client: Path, gateway: Gateway, add_key: Callable[..., Any]
) -> None:
    _, key = await add_key()
    # A call costs 0.017 USD and reserves 0.022 (10 tokens at most): one fits in 0.03.
    _, budget_key = await add_key(max_budget=0.03)
    # The gateway's key buckets stand still (`key_clock`): the rpm=1 key's second call
    # is refused however long the first took.
    _, rpm_key = await add_key(rpm=1)
    env = {
        **os.environ,
        "GATEWAY_URL": gateway.url,
        "KEY": key,
        "BUDGET_KEY": budget_key,
        "RPM_KEY": rpm_key,
    }
    process = await asyncio.create_subprocess_exec(
        "node",
        str(node_client),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    seen = json.loads(stdout)
    assert seen["chat"] == REPLY
    assert seen["stream"] == REPLY
    assert seen["usage"] > 0
    assert seen["tool"]["name"] == "get_weather"
    assert json.loads(seen["tool"]["arguments"]) == {"city": "Paris"}
    assert seen["embeddings"] == [8, 8]
    assert seen["models"] == ["chat", "embed"]
    assert seen["badKey"] == {
        "status": 401,
        "code": "invalid_api_key",
        "type": "invalid_request_error",
    }
    assert seen["unknownModel"]["status"] == 404
    assert seen["unknownModel"]["code"] == "model_not_found"
    assert seen["budget"] == {
        "status": 429,
        "code": "budget_exceeded",
        "type": "insufficient_quota",
    }
    assert seen["rateLimited"]["status"] == 429
    assert seen["rateLimited"]["code"] == "rate_limit_exceeded"
