"""Protocols, base classes and `make_options`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from conduit.core import (
    BaseChatModel,
    BaseEmbedder,
    Capabilities,
    ChatModel,
    Embedder,
    ModelInfo,
    make_options,
)
from conduit.errors import ValidationError
from conduit.providers.fake import FunctionModel, HashEmbedder, MockModel
from conduit.schema import (
    ChatOptions,
    Done,
    Embeddings,
    Message,
    Response,
    StreamEvent,
    TextBlock,
)


class Minimal(BaseChatModel):
    """The least a provider writes: model_info, _chat and _stream."""

    def __init__(self) -> None:
        self.closed = 0

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(provider="test", name="minimal", context_window=8, max_output_tokens=4)

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        return Response(content=[TextBlock(text=f"{len(messages)}:{options.temperature}")])

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        yield Done(response=await self._chat(messages, options))

    async def aclose(self) -> None:
        self.closed += 1


class MinimalEmbedder(BaseEmbedder):
    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(provider="test", name="emb")

    async def _embed(self, texts: list[str]) -> Embeddings:
        return Embeddings(vectors=[[float(len(t))] for t in texts])


class Duck:
    """Not a subclass: a ChatModel by shape only."""

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(provider="duck", name="d")

    async def chat(
        self, messages: object, options: ChatOptions | None = None, **kwargs: object
    ) -> Response:
        return Response(content=[TextBlock(text="quack")])

    def stream(
        self, messages: object, options: ChatOptions | None = None, **kwargs: object
    ) -> AsyncIterator[StreamEvent]:
        async def gen() -> AsyncIterator[StreamEvent]:
            yield Done(response=Response(content=[TextBlock(text="quack")]))

        return gen()


def test_capabilities_and_model_info() -> None:
    caps = Capabilities(vision=True)
    assert (caps.streaming, caps.tools, caps.vision, caps.audio) == (True, True, True, False)
    info = ModelInfo(provider="openai", name="gpt-4o-mini", capabilities=caps)
    assert info.ref == "openai/gpt-4o-mini"
    assert ModelInfo(provider="p", name="n").capabilities == Capabilities()
    with pytest.raises(AttributeError):
        info.name = "other"  # type: ignore[misc]


def test_runtime_protocols() -> None:
    assert isinstance(Minimal(), ChatModel)
    assert isinstance(MockModel(), ChatModel)
    assert isinstance(Duck(), ChatModel)
    assert isinstance(HashEmbedder(), Embedder)
    assert isinstance(MinimalEmbedder(), Embedder)
    assert not isinstance(HashEmbedder(), ChatModel)
    assert not isinstance(object(), Embedder)


async def test_base_chat_model_normalizes_input_and_options() -> None:
    m = Minimal()
    assert (await m.chat("hi")).text == "1:None"
    assert (await m.chat(["a", "b"], ChatOptions(temperature=1), temperature=0.5)).text == "2:0.5"
    events = [e async for e in m.stream("hi", temperature=2)]
    assert isinstance(events[0], Done)
    assert events[0].response.text == "1:2.0"


async def test_base_chat_model_validates_before_calling_the_provider() -> None:
    m = FunctionModel(lambda msgs, opts: "never")
    with pytest.raises(ValidationError):
        await m.chat([])
    with pytest.raises(ValidationError):
        m.stream("hi", temperature=7)
    assert m.calls == []


def test_sync_twins_on_the_base_class() -> None:
    m = Minimal()
    assert m.chat_sync("hi", temperature=1).text == "1:1.0"
    assert [e.type for e in m.stream_sync("hi")] == ["done"]


async def test_async_context_manager_closes() -> None:
    m = Minimal()
    async with m as entered:
        assert entered is m
    assert m.closed == 1


def test_close_runs_aclose_through_the_bridge() -> None:
    m = Minimal()
    m.close()
    assert m.closed == 1
    # the default hooks exist and do nothing
    MockModel().close()


async def test_default_aclose_hooks() -> None:
    await MockModel().aclose()
    await HashEmbedder().aclose()


def test_reprs() -> None:
    assert repr(Minimal()) == "Minimal('test/minimal')"
    assert repr(MockModel()) == "MockModel('fake/mock')"
    assert repr(HashEmbedder()) == "HashEmbedder('fake/hash')"


async def test_base_embedder_validation() -> None:
    e = MinimalEmbedder()
    assert (await e.embed("abc")).vectors == [[3.0]]
    assert (await e.embed(("a", "bb"))).vectors == [[1.0], [2.0]]
    assert e.embed_sync(["xy"]).vectors == [[2.0]]
    with pytest.raises(ValidationError, match="at least one text"):
        await e.embed([])
    with pytest.raises(ValidationError, match="item 0 is bytes"):
        await e.embed([b"raw"])  # type: ignore[list-item]


class TestMakeOptions:
    def test_nothing_gives_defaults(self) -> None:
        assert make_options(None, {}) == ChatOptions()

    def test_object_alone_is_returned_as_is(self) -> None:
        opts = ChatOptions(seed=1)
        assert make_options(opts, {}) is opts

    def test_kwargs_alone(self) -> None:
        assert make_options(None, {"temperature": 0}).temperature == 0.0

    def test_kwargs_win(self) -> None:
        opts = ChatOptions(temperature=1, seed=5)
        got = make_options(opts, {"temperature": 0})
        assert (got.temperature, got.seed) == (0.0, 5)
        assert opts.temperature == 1  # not mutated

    def test_dict(self) -> None:
        assert make_options({"seed": 3}, {"top_p": 0.5}) == ChatOptions(seed=3, top_p=0.5)  # type: ignore[arg-type]

    @pytest.mark.parametrize("bad", [1, "temperature=1", [("seed", 1)]])
    def test_bad_types(self, bad: object) -> None:
        with pytest.raises(ValidationError, match="options must be ChatOptions or a dict"):
            make_options(bad, {})  # type: ignore[arg-type]

    def test_bad_values(self) -> None:
        with pytest.raises(ValidationError, match=r"ChatOptions\.temperature"):
            make_options(None, {"temperature": "hot"})
