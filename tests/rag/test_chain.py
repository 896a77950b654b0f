"""RagChain: prompt built from the sources, citations parsed, streaming, usage."""

from __future__ import annotations

import pytest

from conduit.errors import ValidationError
from conduit.providers.fake import FunctionModel
from conduit.rag.chain import DEFAULT_TEMPLATE, RagAnswer, RagChain, citations_in
from conduit.rag.documents import Document
from conduit.rag.retriever import Retriever
from conduit.rag.stores.memory import MemoryVectorStore
from conduit.schema import ChatOptions, Message, TextDelta
from tests.rag.support import WordEmbedder

DOCS = [
    Document("The cat is a pet.", {"source": "pets.md", "headers": ["Pets", "Cats"]}, id="a"),
    Document("A car has an engine.", {"source": "cars.md"}, id="b"),
    Document("The sky is blue.", {"source": "sky.md"}, id="c"),
]


async def make_chain(reply: str = "Cats are pets [1].", **options: object) -> RagChain:
    retriever = Retriever(MemoryVectorStore(), WordEmbedder(), k=2)
    await retriever.add_documents(DOCS)
    seen: list[list[Message]] = []

    def answer(messages: list[Message], opts: ChatOptions) -> str:
        seen.append(messages)
        return reply

    chain = RagChain(retriever, FunctionModel(answer), **options)  # type: ignore[arg-type]
    chain.seen = seen  # type: ignore[attr-defined]
    return chain


async def test_answer_carries_sources_scores_and_citations() -> None:
    chain = await make_chain()
    answer = await chain.ask("Is the cat a pet?")
    assert answer.text == "Cats are pets [1]."
    assert next(s.document.id for s in answer.sources) == "a"
    assert [s.number for s in answer.sources] == [1, 2]
    assert answer.sources[0].score >= answer.sources[1].score
    assert [s.source for s in answer.cited] == ["pets.md"]
    assert answer.usage.output_tokens > 0
    prompt = chain.seen[0][-1].text  # type: ignore[attr-defined]
    assert "[1] pets.md — Pets > Cats\nThe cat is a pet." in prompt
    assert prompt.endswith("Question: Is the cat a pet?")
    data = answer.to_dict()
    assert data["answer"] == answer.text
    assert data["citations"] == [1]
    assert data["sources"][0]["source"] == "pets.md"


async def test_custom_template_system_prompt_and_formatter() -> None:
    chain = await make_chain(
        template="Q={question}\nDocs:\n{context}",
        system="Be brief.",
        formatter=lambda n, doc, score: f"<{n}:{doc.id}>",
    )
    await chain.ask("engine?", k=1)
    messages = chain.seen[0]  # type: ignore[attr-defined]
    assert messages[0].role == "system"
    assert messages[0].text == "Be brief."
    assert messages[1].text == "Q=engine?\nDocs:\n<1:b>"


async def test_filters_reach_the_retriever() -> None:
    chain = await make_chain()
    answer = await chain.ask("cat", where={"source": "sky.md"})
    assert [s.source for s in answer.sources] == ["sky.md"]


async def test_streaming_yields_text_then_the_answer() -> None:
    chain = await make_chain("Blue, as said in [3] and [1, 2].")
    events = [e async for e in chain.stream("What colour is the sky?")]
    assert isinstance(events[-1], RagAnswer)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == events[-1].text == "Blue, as said in [3] and [1, 2]."
    assert events[-1].citations == [3, 1, 2]
    assert [s.number for s in events[-1].cited] == [1, 2]  # [3] was not given


def test_sync_twins() -> None:
    import asyncio

    chain = asyncio.run(make_chain())
    assert chain.ask_sync("cat").citations == [1]
    events = list(chain.stream_sync("cat"))
    assert isinstance(events[-1], RagAnswer)
    assert events[-1].text == "Cats are pets [1]."


async def test_no_context_and_bad_templates() -> None:
    chain = RagChain(Retriever(MemoryVectorStore(), WordEmbedder()), "fake/echo")
    answer = await chain.ask("anything?")
    assert answer.sources == []
    assert "(no context found)" in answer.text
    with pytest.raises(ValidationError, match="question"):
        RagChain(chain.retriever, "fake/echo", template="{context} only")
    assert "{context}" in DEFAULT_TEMPLATE


def test_citations_parser() -> None:
    assert citations_in("see [2], [10] and [2, 3]; not [x] or [ ]") == [2, 10, 3]
