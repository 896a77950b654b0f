"""An OpenAI-compatible gateway, offline: one `Gateway` on 127.0.0.1 in front of a model
group, a virtual key with a budget, calls through `from_server` (the OpenAI adapter
pointed at the gateway), the usage ledger per key, and the refusal once the budget
cannot take another call.

The model group uses `fake/echo` (answers with your last message) with prices per token
set in the config, so the spend is visible; in real use, name any provider's models.
Each call reserves its worst case (its input, and `max_tokens` of answer at the group's
prices) before anything is sent and is settled at its real cost after, so concurrent
calls can never spend past the budget.

    python examples/gateway.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from conduit.errors import RateLimitError
from conduit.server import Gateway, from_server
from conduit.server.config import parse_config
from conduit.server.usage import key_usage
from conduit.storage.keys import new_key


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = parse_config(
            {
                "model_list": [
                    {
                        "model_name": "chat",
                        "litellm_params": {"model": "fake/echo"},
                        "model_info": {
                            "input_cost_per_token": 0.001,
                            "output_cost_per_token": 0.002,
                        },
                    }
                ],
                "server": {"database": str(Path(folder) / "gateway.sqlite3")},
            }
        )
        async with Gateway(config) as gateway:
            url = await gateway.start(port=0)
            key, secret = new_key(name="team-a", max_budget=0.04)
            await gateway.keys.add(key, secret)

            model = from_server("chat", url=url, api_key=secret)
            # 7 tokens in, at most 10 out: 0.027 USD reserved; 7 + 7 tokens: 0.021 spent.
            answer = await model.chat("Hello through the gateway", max_tokens=10)
            print("answer:", answer.text)
            await gateway.recorder.flush()  # the ledger is written in small batches
            for row in await key_usage(gateway.events, key.id):
                print(f"usage: {row.key[1]} {row.events} request(s), ${row.cost:.4f}")
            try:  # 0.021 spent + 0.023 reserved would pass 0.04: refused, nothing sent
                await model.chat("And again", max_tokens=10)
            except RateLimitError as exc:
                print("refused:", type(exc).__name__, "(over budget)")


if __name__ == "__main__":
    asyncio.run(main())
