"""Structured output, offline: typed Pydantic objects from a model's answer, a bad answer
retried with its error sent back, a list of objects, classification, and partial objects
while the answer streams.

    python examples/structured_output.py
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from enum import Enum

from pydantic import BaseModel, Field

from conduit import FunctionModel, Message, MockModel
from conduit.schema import ChatOptions
from conduit.structured import classify, extract, with_structured_output


class Invoice(BaseModel):
    number: str
    total: float = Field(ge=0)
    currency: str


class Sentiment(Enum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


def reader(messages: list[Message], options: ChatOptions) -> str:
    """A stand-in model that answers with JSON in the schema it was asked for."""
    assert options.response_format is not None  # the schema travels with the request
    return json.dumps({"number": "INV-7", "total": 99.5, "currency": "EUR"})


async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
    for piece in ['{"number": "INV-', '8", "total": 12', '0.0, "currency": "USD"}']:
        yield piece


async def main() -> None:
    # 1. One object; the JSON Schema is derived from the model class.
    invoice = await extract(FunctionModel(reader), "Invoice INV-7: 99.50 EUR", Invoice)
    print("extract:", invoice)

    # 2. An answer that does not validate goes back with the error, and the model fixes it.
    sloppy = MockModel(
        [
            '{"number": "INV-9", "total": -5, "currency": "EUR"}',
            '{"number": "INV-9", "total": 5, "currency": "EUR"}',
        ]
    )
    fixed = await extract(sloppy, "Invoice INV-9: 5 EUR", Invoice)
    print(
        "retried:",
        fixed,
        "| error sent back:",
        "greater than or equal" in sloppy.calls[1].messages[-1].text,
    )

    # 3. Many objects at once.
    many = MockModel(
        [
            '{"items": [{"number": "A", "total": 1, "currency": "EUR"},'
            ' {"number": "B", "total": 2, "currency": "EUR"}]}'
        ]
    )
    invoices = await extract(many, "Two invoices: A for 1 EUR, B for 2 EUR.", list[Invoice])
    print("list:", [i.number for i in invoices])

    # 4. Classification into labels (strings or an Enum).
    mood = await classify(MockModel(['{"label": "negative"}']), "Awful service.", Sentiment)
    print("classify:", mood)

    # 5. Partial objects while the answer streams; the last one is validated.
    streaming = with_structured_output(FunctionModel(reader, stream_fn=pieces), Invoice)
    async for partial in streaming.stream("Invoice INV-8: 120 USD"):
        print("partial:", partial.number, partial.total, partial.currency)


if __name__ == "__main__":
    asyncio.run(main())
