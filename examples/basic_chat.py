"""Basic chat, offline: one question, a conversation, the sync twin and the usage figures.

`fake/echo` answers with your last message and `FunctionModel` runs a Python function as
the model; both are real `ChatModel`s, so swapping in "openai/gpt-4o-mini" or
"local/default" changes nothing else.

    python examples/basic_chat.py
"""

from __future__ import annotations

import asyncio

import conduit
from conduit import FunctionModel, Message, assistant, system, user
from conduit.schema import ChatOptions


def tutor(messages: list[Message], options: ChatOptions) -> str:
    """A stand-in model that knows a few capitals and remembers the conversation."""
    capitals = {"France": "Paris", "Italy": "Rome", "Japan": "Tokyo"}
    question = messages[-1].text
    for country, capital in capitals.items():
        if country in question:
            return f"The capital of {country} is {capital}."
    turns = sum(1 for m in messages if m.role == "user")
    return f"You have asked {turns} questions so far."


async def main() -> None:
    # 1. A string is one user message; the reply is a typed Response.
    reply = await conduit.chat("fake/echo", "Hello, Conduit!")
    print("echo:", reply.text, "| stop:", reply.stop_reason, "| tokens:", reply.usage.total_tokens)

    # 2. A conversation: a list of messages, the system message first.
    model = FunctionModel(tutor, name="tutor")
    history = [system("Answer in one sentence."), user("What is the capital of France?")]
    first = await model.chat(history, temperature=0)
    print("tutor:", first.text)
    history += [assistant(first.text), user("And how many questions was that?")]
    second = await model.chat(history)
    print("tutor:", second.text)

    # 3. OpenAI-style dicts work too, and the model says who it is.
    third = await model.chat([{"role": "user", "content": "Capital of Japan?"}])
    print("tutor:", third.text, "| model:", model.model_info.ref)


if __name__ == "__main__":
    asyncio.run(main())
    # 4. The same from synchronous code: no event loop to manage.
    print("sync:", conduit.chat_sync("fake/echo", "no event loop needed").text)
