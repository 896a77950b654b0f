"""A real offline extraction: the local model (SmolLM2-135M, in-process) held to the
schema by a llama.cpp grammar. It checks the object validates, not that it is wise."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel

import conduit
from conduit.core.protocols import ChatModel
from conduit.structured import classify, extract, with_structured_output

pytestmark = pytest.mark.slow


class City(BaseModel):
    name: str
    country: str
    population: int


class Review(BaseModel):
    sentiment: Literal["positive", "negative"]
    summary: str | None = None


@pytest.fixture(scope="module")
def local() -> ChatModel:
    return conduit.model("local/default")


async def test_extraction_validates(local: ChatModel) -> None:
    city = await extract(
        local,
        "Oslo is the capital of Norway and has about 700000 people.",
        City,
        max_retries=0,
        temperature=0,
        max_tokens=96,
    )
    assert isinstance(city, City)
    assert city.name


async def test_lists_and_optional_fields_validate(local: ChatModel) -> None:
    reviews = await extract(
        local,
        "Great food. Terrible service.",
        list[Review],
        max_retries=0,
        temperature=0,
        max_tokens=128,
    )
    assert isinstance(reviews, list)
    assert all(isinstance(r, Review) for r in reviews)


async def test_classify_picks_a_given_label(local: ChatModel) -> None:
    label = await classify(
        local, "I love it!", ["positive", "negative"], max_retries=0, temperature=0
    )
    assert label in {"positive", "negative"}


async def test_streaming_ends_with_a_valid_object(local: ChatModel) -> None:
    s = with_structured_output(local, City, max_retries=0)
    items = [
        x
        async for x in s.stream(
            "Paris is in France; 2 million people.", temperature=0, max_tokens=96
        )
    ]
    assert isinstance(items[-1], City)
