"""`RagChain`: retrieve, put the documents in a prompt, answer with numbered citations.

The default model is the embedded local one (`local/default`), so a chain works with
no key and no network; any `ChatModel` (or `provider/model` string) fits.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import FunctionModel, HashEmbedder
    >>> from conduit.rag.stores.memory import MemoryVectorStore
    >>> async def main():
    ...     retriever = Retriever(MemoryVectorStore(), HashEmbedder(dimensions=16), k=1)
    ...     await retriever.add_documents([Document("Oslo is in Norway.", {"source": "geo"})])
    ...     chain = RagChain(retriever, FunctionModel(lambda messages, options: "Norway [1]"))
    ...     answer = await chain.ask("Where is Oslo?")
    ...     return answer.text, [s.source for s in answer.cited]
    >>> asyncio.run(main())
    ('Norway [1]', ['geo'])
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from conduit.core.protocols import ChatModel
from conduit.core.sync import iterate_sync, run_sync
from conduit.errors import ValidationError
from conduit.rag.documents import Document, MetadataFilter
from conduit.rag.retriever import Retriever
from conduit.schema import Message, Response, TextDelta, Usage, system, user

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TEMPLATE",
    "RagAnswer",
    "RagChain",
    "Source",
    "citations_in",
    "format_context",
    "format_document",
]

DEFAULT_MODEL = "local/default"
DEFAULT_TEMPLATE = """\
Answer the question using only the numbered context below. Cite the passages you use \
by their numbers in brackets, like [1]. If the context does not hold the answer, say \
that you do not know.

Context:
{context}

Question: {question}"""
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass(frozen=True, slots=True)
class Source:
    """A retrieved document as shown to the model: its number in the context and score.

    Example:
        >>> Source(1, Document("x", {"source": "a.md"}), 0.9).source
        'a.md'
    """

    number: int
    document: Document
    score: float

    @property
    def source(self) -> str | None:
        """Where the document came from."""
        return self.document.source


@dataclass(slots=True)
class RagAnswer:
    """The answer, every source it was given, the numbers it cited, and usage.

    Example:
        >>> RagAnswer("Hi [2]", [], [2]).cited
        []
    """

    text: str
    sources: list[Source]
    citations: list[int]
    usage: Usage = field(default_factory=Usage)
    response: Response | None = None
    type: Literal["answer"] = "answer"

    @property
    def cited(self) -> list[Source]:
        """The sources the answer cites, in citation order (unknown numbers skipped)."""
        by_number = {s.number: s for s in self.sources}
        return [by_number[n] for n in self.citations if n in by_number]

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for JSON output."""
        return {
            "answer": self.text,
            "citations": self.citations,
            "sources": [
                {
                    "number": s.number,
                    "id": s.document.id,
                    "source": s.source,
                    "score": s.score,
                    "metadata": s.document.metadata,
                    "text": s.document.text,
                }
                for s in self.sources
            ],
            "usage": self.usage.model_dump(exclude_none=True),
        }


def citations_in(text: str) -> list[int]:
    """Numbers cited as `[n]` or `[n, m]`, first mention order, no repeats.

    Example:
        >>> citations_in("A [2]. B [1, 2]. C [3]")
        [2, 1, 3]
    """
    seen: dict[int, None] = {}
    for match in _CITATION.finditer(text):
        for part in match.group(1).split(","):
            seen.setdefault(int(part), None)
    return list(seen)


def format_document(number: int, document: Document, score: float) -> str:
    """The default way a document appears in the context: number, source, headers, text.

    Example:
        >>> print(format_document(1, Document("Body", {"source": "a.md", "headers": ["A"]}), 0.5))
        [1] a.md — A
        Body
    """
    label = document.source or document.id
    headers = document.metadata.get("headers")
    if headers:
        label += " — " + " > ".join(str(h) for h in headers)
    return f"[{number}] {label}\n{document.text.strip()}"


def format_context(
    sources: Sequence[Source],
    formatter: Callable[[int, Document, float], str] = format_document,
) -> str:
    """All sources, formatted and separated by blank lines.

    Example:
        >>> format_context([])
        '(no context found)'
    """
    if not sources:
        return "(no context found)"
    return "\n\n".join(formatter(s.number, s.document, s.score) for s in sources)


class RagChain:
    """Retrieval-augmented answers from `retriever` and `model`.

    `template` must hold `{context}` and `{question}`; `system` is an optional system
    prompt; `formatter(number, document, score)` renders each context entry. Extra
    keywords of `ask`/`stream` go to the model as chat options.

    Example:
        >>> from conduit.rag.stores.memory import MemoryVectorStore
        >>> RagChain(Retriever(MemoryVectorStore(), "fake/hash"), "fake/echo").template[:6]
        'Answer'
    """

    def __init__(
        self,
        retriever: Retriever,
        model: str | ChatModel | None = None,
        *,
        template: str = DEFAULT_TEMPLATE,
        system: str | None = None,
        formatter: Callable[[int, Document, float], str] = format_document,
    ) -> None:
        for slot in ("{context}", "{question}"):
            if slot not in template:
                raise ValidationError(f"the RAG template needs a {slot} placeholder")
        if model is None or isinstance(model, str):
            from conduit.api import model as make

            model = make(model or DEFAULT_MODEL)
        self.retriever = retriever
        self.model = model
        self.template = template
        self.system = system
        self.formatter = formatter

    async def sources(
        self, question: str, *, k: int | None = None, where: MetadataFilter | None = None
    ) -> list[Source]:
        """The numbered sources retrieved for `question`."""
        hits = await self.retriever.retrieve(question, k=k, where=where)
        return [Source(n, doc, score) for n, (doc, score) in enumerate(hits, start=1)]

    def prompt(self, question: str, sources: Sequence[Source]) -> list[Message]:
        """The messages sent to the model.

        Example:
            >>> from conduit.rag.stores.memory import MemoryVectorStore
            >>> chain = RagChain(Retriever(MemoryVectorStore(), "fake/hash"), "fake/echo",
            ...                  template="{context} | {question}")
            >>> chain.prompt("Why?", [])[-1].text
            '(no context found) | Why?'
        """
        context = format_context(sources, self.formatter)
        body = self.template.replace("{context}", context).replace("{question}", question)
        messages = [system(self.system)] if self.system else []
        return [*messages, user(body)]

    async def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        where: MetadataFilter | None = None,
        **options: Any,
    ) -> RagAnswer:
        """Retrieve, then answer `question` with citations."""
        found = await self.sources(question, k=k, where=where)
        response = await self.model.chat(self.prompt(question, found), **options)
        return RagAnswer(
            response.text, found, citations_in(response.text), response.usage, response
        )

    async def stream(
        self,
        question: str,
        *,
        k: int | None = None,
        where: MetadataFilter | None = None,
        **options: Any,
    ) -> AsyncIterator[TextDelta | RagAnswer]:
        """Retrieve, then stream the answer: `TextDelta`s, then the whole `RagAnswer`."""
        found = await self.sources(question, k=k, where=where)
        parts: list[str] = []
        response: Response | None = None
        async for event in self.model.stream(self.prompt(question, found), **options):
            if isinstance(event, TextDelta):
                parts.append(event.text)
                yield event
            elif event.type == "done":
                response = event.response
        text = response.text if response is not None else "".join(parts)
        usage = response.usage if response is not None else Usage()
        yield RagAnswer(text, found, citations_in(text), usage, response)

    def ask_sync(
        self,
        question: str,
        *,
        k: int | None = None,
        where: MetadataFilter | None = None,
        **options: Any,
    ) -> RagAnswer:
        """`ask` for synchronous code."""
        return run_sync(self.ask(question, k=k, where=where, **options))

    def stream_sync(
        self,
        question: str,
        *,
        k: int | None = None,
        where: MetadataFilter | None = None,
        **options: Any,
    ) -> Iterator[TextDelta | RagAnswer]:
        """`stream` for synchronous code."""
        return iterate_sync(self.stream(question, k=k, where=where, **options))
