"""A multi-provider router, offline: LiteLLM's `Router` on Conduit's models. One model
group spread over two providers, round-robin; a failing group that falls back to another;
and per-minute limits.

The deployments use `mock_response` (LiteLLM's own testing switch, also a `completion()`
parameter): the call goes through the whole router and `completion()` path but the answer
comes from a `MockModel` instead of the network. In real use, drop it and set keys.

    python examples/router.py
"""

from __future__ import annotations

import asyncio
from collections import Counter

import conduit.compat as litellm
from conduit.errors import ServerError

DOWN = ServerError("the provider is down", status_code=503, provider="anthropic")

router = litellm.Router(
    model_list=[
        # group "chat": two providers behind one name
        {
            "model_name": "chat",
            "litellm_params": {"model": "openai/gpt-4o-mini", "mock_response": "from OpenAI"},
        },
        {
            "model_name": "chat",
            "litellm_params": {
                "model": "anthropic/claude-haiku-4-5",
                "mock_response": "from Anthropic",
            },
        },
        # group "smart": always fails here, so calls fall back to "chat"
        {
            "model_name": "smart",
            "litellm_params": {"model": "anthropic/claude-sonnet-4-5", "mock_response": DOWN},
        },
        # group "limited": at most 2 requests a minute
        {
            "model_name": "limited",
            "litellm_params": {"model": "fake/echo", "rpm": 2},
        },
    ],
    routing_strategy="round-robin",
    num_retries=1,
    fallbacks=[{"smart": ["chat"]}],
)

messages = [{"role": "user", "content": "Hello"}]


async def main() -> None:
    # 1. Round-robin over the two deployments of "chat".
    answers = [
        (await router.acompletion(model="chat", messages=messages)).choices[0].message.content
        for _ in range(4)
    ]
    print("chat:", dict(Counter(answers)))

    # 2. "smart" fails (retried once), then the fallback group answers.
    response = await router.acompletion(model="smart", messages=messages)
    print("smart -> fallback:", response.choices[0].message.content)

    # 3. Streaming through the router.
    stream = await router.acompletion(model="chat", messages=messages, stream=True)
    pieces = [chunk.choices[0].delta.content or "" async for chunk in stream]
    print("stream:", "".join(pieces))

    # 4. Over its per-minute limit, a deployment is skipped; with none left, the router
    #    raises RateLimitError saying when to retry.
    for i in range(3):
        try:
            await router.acompletion(model="limited", messages=f"call {i}")
            print(f"limited: call {i} ok")
        except litellm.RateLimitError as exc:
            print(f"limited: call {i} refused ({type(exc).__name__})")


if __name__ == "__main__":
    asyncio.run(main())
    print("groups:", router.get_model_names())
    # The sync twin.
    print("sync:", router.completion(model="chat", messages=messages).choices[0].message.content)
