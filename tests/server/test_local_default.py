"""The default config serves the embedded local models, so `conduit serve` works
offline: chat through `local` (SmolLM2 in llama.cpp) and embeddings through
`local-embed` (MiniLM), with the `openai` package as the client."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from conduit.server.app import Gateway
from conduit.server.config import default_config


@pytest.mark.slow
async def test_default_config_serves_the_local_models(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="the local extra (llama-cpp-python) is not installed")
    config = default_config()
    config.database = str(tmp_path / "gateway.sqlite3")
    config.require_key = False
    async with Gateway(config) as gw:
        await gw.start(port=0)
        async with openai.AsyncOpenAI(base_url=gw.url, api_key="unused", max_retries=0) as c:
            assert [m.id async for m in c.models.list()] == ["local", "local-embed"]
            answer = await c.chat.completions.create(
                model="local",
                messages=[{"role": "user", "content": "Say hi"}],
                max_tokens=8,
                temperature=0,
            )
            assert answer.choices[0].message.content
            assert answer.usage is not None
            assert answer.usage.completion_tokens > 0
            vectors = await c.embeddings.create(model="local-embed", input=["hello", "world"])
        assert [len(d.embedding) for d in vectors.data] == [384, 384]
        await gw.recorder.flush()
        assert [e.status for e in await gw.events.events()] == [200, 200]
