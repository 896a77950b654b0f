"""Memory and history, offline: a conversation kept in order, strategies that choose what
of it to send, and a persistent store (SQLite, in a temporary folder here).

    python examples/memory.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from conduit import FunctionModel, Message, chat
from conduit.memory import LastTurnsMemory, Messages, SummaryMemory, message_store
from conduit.schema import ChatOptions, system


def parrot(messages: list[Message], options: ChatOptions) -> str:
    """A stand-in model that says how much of the conversation it was sent."""
    if "memory of a conversation" in messages[0].text:  # SummaryMemory asks for a summary
        return "The user asked about Paris, Rome and Oslo."
    return f"(saw {len(messages)} messages) You said: {messages[-1].text}"


async def main() -> None:
    model = FunctionModel(parrot, name="parrot")

    # 1. Messages: a list that stays valid (one system message, first; tool results
    #    after their calls) and round-trips through JSON.
    history = Messages([system("Be brief.")])
    for question in ["Paris?", "Rome?", "Oslo?", "Lima?"]:
        history.add_new("user", question)
        reply = await chat(model, history)
        history.append(reply.to_message())
    print("history:", len(history), "messages; last:", history.last().text)
    assert Messages.from_json(history.to_json()) == history

    # 2. Strategies choose what to send; the system message always stays.
    recent = await LastTurnsMemory(1).select(history)
    print("last turn:", [m.text for m in recent])
    folded = await SummaryMemory(model, keep_last=1).select(history)
    print("summary:", [m.text for m in folded])
    short = await chat(model, [*recent, Message(role="user", content="And now?")])
    print("with memory:", short.text)

    # 3. A persistent store: conversations survive the process.
    with tempfile.TemporaryDirectory() as folder:
        store = message_store(str(Path(folder) / "history.sqlite3"))
        conversation = await store.create("Cities")
        await store.append(conversation.id, *history)
        await store.aclose()

        reopened = message_store(str(Path(folder) / "history.sqlite3"))
        loaded = Messages(await reopened.messages(conversation.id))
        hits = await reopened.search("lima")
        print("reloaded:", len(loaded), "messages | search 'lima':", len(hits), "hit(s)")
        print("conversations:", [c.title for c in await reopened.conversations()])
        await reopened.aclose()


if __name__ == "__main__":
    asyncio.run(main())
