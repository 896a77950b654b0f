"""A tour of the framework face, offline: Model, SyncConduit, AsyncConduit, Request,
Response, errors as values, messages, the message store, the parser and the odometer.

Everything runs on Conduit's fake models (`fake/echo`, `FunctionModel`), so it needs no
key and no network. Swap in `"openai/gpt-4o-mini"` (or any model) for the real thing.

Run it: python examples/framework_tour.py
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
from pathlib import Path

from pydantic import BaseModel

from conduit import (
    AsyncConduit,
    ConduitError,
    ImageMessage,
    Messages,
    MessageStore,
    Model,
    ModelAsync,
    OdometerRegistry,
    Parser,
    Prompt,
    Request,
    Response,
    SyncConduit,
    TextMessage,
    TokenEvent,
    Verbosity,
)
from conduit.errors import RateLimitError
from conduit.media.fake import solid_png
from conduit.odometer import stats_sync
from conduit.providers.fake import FunctionModel
from conduit.schema import ChatOptions, Message


class Recipe(BaseModel):
    dish: str
    minutes: int


def kitchen(messages: list[Message], options: ChatOptions) -> str:
    """A stand-in model: JSON when a schema is asked for, a short answer otherwise."""
    question = messages[-1].text
    if "fail" in question:
        raise RateLimitError("the kitchen is busy", status_code=429, retry_after=1.0)
    if options.response_format is not None:
        return '{"dish": "omelette", "minutes": 10}'
    return f"Answer to {question!r}"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="conduit-framework-tour-"))
    ledger = folder / "usage.sqlite3"  # by default: the one ledger `conduit usage` reads

    # Model.query: a Response (text or parsed object) or a ConduitError value.
    with Model(FunctionModel(kitchen), ledger=ledger) as model:
        answer = model.query(query_input="What is quick to cook?", verbose=Verbosity.SILENT)
        assert isinstance(answer, Response)
        print("query:", answer.content, "| prompt:", answer.prompt)
        recipe = model.query(query_input="A quick recipe", response_model=Recipe)
        assert isinstance(recipe, Response)
        print("parsed:", recipe.content)
        failed = model.query(query_input="please fail")
        assert isinstance(failed, ConduitError)
        print("error value:", failed.info.code, failed.info.category, failed.retryable)

    # SyncConduit: prompt + model + parser, with the conversation in a MessageStore.
    store = MessageStore(history_file=folder / "history.sqlite3")
    SyncConduit.message_store = store
    chef = SyncConduit(
        model=Model(FunctionModel(kitchen), ledger=ledger),
        prompt=Prompt("What can I make with {{ food }}?"),
    )
    plain = chef.run(input_variables={"food": "eggs"})
    typed = chef.run(input_variables={"food": "eggs"}, parser=Parser(Recipe))
    assert isinstance(plain, Response)
    assert isinstance(typed, Response)
    print("conduit:", plain.content)
    print("conduit, parsed:", typed.content)
    print("history:", len(store), "messages kept")
    store.close()
    SyncConduit.message_store = None
    chef.model.close()

    # AsyncConduit: many inputs at once, input order kept, errors in place.
    batch = AsyncConduit(
        model=ModelAsync(FunctionModel(kitchen), ledger=ledger), prompt=Prompt("{{ word }}")
    )
    results = batch.run(
        input_variables_list=[{"word": w} for w in ("soup", "please fail", "bread")],
        semaphore=asyncio.Semaphore(2),
        verbose=False,
    )
    print("batch:", [r.info.code if isinstance(r, ConduitError) else r.content for r in results])
    asyncio.run(batch.model.aclose())

    # Request: what each provider's adapter would send.
    request = Request.from_query_input("Hi", model="anthropic/claude-haiku-4-5", max_tokens=64)
    print("anthropic body:", request.to_anthropic())
    print("cache key:", request.generate_cache_key()[:16], "...")

    # Messages and the message types.
    chat = Messages()
    chat.add_new("system", "Be brief.")
    chat.add_new("user", "Hi")
    chat.append(TextMessage(role="assistant", content=Recipe(dish="salad", minutes=5)))
    print("messages:", [m.role for m in chat], chat.assistant_messages()[0].content)
    picture = ImageMessage.from_base64(
        image_content=base64.b64encode(solid_png(8, 8, (0, 0, 200))).decode(),
        text_content="What colour is this?",
    )
    print("image:", picture.mime_type, [part["type"] for part in picture.to_openai()["content"]])

    # The odometer: the session's counts in memory, every call in the ledger.
    Model.stats()  # this session's answers, as a table
    registry = OdometerRegistry(ledger=ledger)
    registry.emit_token_event(TokenEvent(provider="fake", model="manual", input_tokens=5))
    kept = registry.persistent_odometer
    assert kept is not None
    print("ledger:", stats_sync(kept.store).total().events, "events kept")
    registry.close()


if __name__ == "__main__":
    main()
