"""The Anthropic Messages API, the Responses API and `models.retrieve` served by the
embedded local model (`local/default`, SmolLM2 in llama.cpp) with small max tokens,
through the official `anthropic` and `openai` packages: one call each (a generation
takes seconds on a busy machine; the shapes are covered against the fake upstream)."""

from __future__ import annotations

from pathlib import Path

import anthropic
import openai
import pytest

from conduit.server.app import Gateway
from conduit.server.config import default_config


@pytest.mark.slow
async def test_embedded_model_behind_messages_and_responses(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="the local extra (llama-cpp-python) is not installed")
    config = default_config()
    config.database = str(tmp_path / "gateway.sqlite3")
    config.require_key = False
    hi = [{"role": "user", "content": "Say hi"}]
    async with Gateway(config) as gw:
        await gw.start(port=0)
        async with openai.AsyncOpenAI(base_url=gw.url, api_key="unused", max_retries=0) as c:
            assert (await c.models.retrieve("local")).id == "local"
            first = await c.responses.create(
                model="local", input="Say hi", max_output_tokens=8, temperature=0
            )
            assert first.output_text
            assert first.usage is not None
            assert first.usage.output_tokens > 0
        base = gw.url.removesuffix("/v1")
        async with anthropic.AsyncAnthropic(base_url=base, api_key="unused", max_retries=0) as a:
            async with a.messages.stream(model="local", max_tokens=8, messages=hi) as events:
                final = await events.get_final_message()
            assert final.content[0].type == "text"
            assert final.usage.output_tokens > 0
            counted = await a.messages.count_tokens(model="local", messages=hi)
            assert counted.input_tokens > 0
        await gw.recorder.flush()
        assert [e.status for e in await gw.events.events()] == [200] * 2
