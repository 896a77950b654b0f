"""The top-level API: `chat`, `stream`, `embed`, `model`, `embedder` and their resolution."""

from __future__ import annotations

import math
from typing import Any

import pytest

import conduit
from conduit.core import api
from conduit.errors import NotFoundError, RateLimitError, ValidationError
from conduit.providers.fake import FunctionModel, HashEmbedder, MockModel
from conduit.providers.registry import ProviderSpec, register_provider
from conduit.schema import (
    ChatOptions,
    Done,
    Embeddings,
    Message,
    TextDelta,
    UsageEvent,
    system,
    user,
)

pytestmark = pytest.mark.usefixtures("clean_registry")


class TestChat:
    async def test_fake_echo(self) -> None:
        r = await conduit.chat("fake/echo", "Hello")
        assert r.text == "Hello"
        assert r.model == "echo"
        assert r.provider == "fake"
        assert r.stop_reason == "end_turn"
        assert r.usage.input_tokens > 0

    async def test_echo_answers_the_last_message(self) -> None:
        r = await conduit.chat("fake/echo", [system("s"), user("first"), user("last")])
        assert r.text == "last"

    async def test_messages_as_dicts(self) -> None:
        r = await conduit.chat("fake/echo", [{"role": "user", "content": "dict"}])
        assert r.text == "dict"

    async def test_model_instance(self) -> None:
        m = MockModel(["scripted"])
        r = await conduit.chat(m, "hi")
        assert r.text == "scripted"
        assert m.calls[0].messages == [user("hi")]

    async def test_function_model_instance(self) -> None:
        m = FunctionModel(lambda msgs, opts: f"{len(msgs)} messages")
        assert (await conduit.chat(m, ["a", "b"])).text == "2 messages"

    async def test_options_object(self) -> None:
        m = MockModel(["ok"])
        await conduit.chat(m, "hi", ChatOptions(temperature=0.3, max_tokens=5))
        opts = m.calls[0].options
        assert (opts.temperature, opts.max_tokens) == (0.3, 5)

    async def test_kwargs_win_over_options(self) -> None:
        m = MockModel(["ok"])
        await conduit.chat(m, "hi", ChatOptions(temperature=0.3, max_tokens=5), temperature=1.5)
        opts = m.calls[0].options
        assert (opts.temperature, opts.max_tokens) == (1.5, 5)

    async def test_kwargs_alone(self) -> None:
        m = MockModel(["ok"])
        await conduit.chat(m, "hi", stop="END", seed=1)
        assert m.calls[0].options.stop == ["END"]
        assert m.calls[0].options.seed == 1

    async def test_options_as_dict(self) -> None:
        m = MockModel(["ok"])
        await conduit.chat(m, "hi", {"temperature": 0.1})  # type: ignore[arg-type]
        assert m.calls[0].options.temperature == 0.1

    async def test_no_options_gives_defaults(self) -> None:
        m = MockModel(["ok"])
        await conduit.chat(m, "hi")
        assert m.calls[0].options == ChatOptions()

    async def test_option_typo_is_a_validation_error(self) -> None:
        m = MockModel(["ok"])
        with pytest.raises(ValidationError, match="max_token"):
            await conduit.chat(m, "hi", max_token=5)
        assert m.calls == []  # nothing was sent

    async def test_bad_options_type(self) -> None:
        with pytest.raises(ValidationError, match="options must be ChatOptions or a dict, not int"):
            await conduit.chat("fake/echo", "hi", 5)  # type: ignore[arg-type]

    @pytest.mark.parametrize("bad", [42, None, object(), ["fake/echo"]])
    async def test_bad_model_types(self, bad: Any) -> None:
        with pytest.raises(ValidationError, match="expected a model string or a ChatModel"):
            await conduit.chat(bad, "hi")

    async def test_bad_messages(self) -> None:
        with pytest.raises(ValidationError, match="messages is empty"):
            await conduit.chat("fake/echo", [])

    async def test_errors_propagate(self) -> None:
        m = MockModel([RateLimitError("slow down", provider="fake", retry_after=1.0)])
        with pytest.raises(RateLimitError) as info:
            await conduit.chat(m, "hi")
        assert info.value.retry_after == 1.0


class TestStream:
    async def test_fake_echo_stream(self) -> None:
        events = [e async for e in conduit.stream("fake/echo", "Hi there")]
        assert [e.type for e in events] == ["text_delta", "text_delta", "usage", "done"]
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hi there"
        done = events[-1]
        assert isinstance(done, Done)
        assert done.response.text == "Hi there"
        usage = events[-2]
        assert isinstance(usage, UsageEvent)
        assert usage.usage == done.response.usage

    async def test_stream_with_model_and_options(self) -> None:
        m = MockModel(["a b"])
        events = [e async for e in conduit.stream(m, "hi", ChatOptions(seed=1), seed=2)]
        assert isinstance(events[-1], Done)
        assert m.calls[0].stream is True
        assert m.calls[0].options.seed == 2

    def test_bad_model_fails_at_call_time(self) -> None:
        # validation happens when stream() is called, before iteration starts
        with pytest.raises(ValidationError):
            conduit.stream(3.14, "hi")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="messages is empty"):
            conduit.stream("fake/echo", [])


class TestEmbed:
    async def test_fake_hash(self) -> None:
        e = await conduit.embed("fake/hash", ["a", "b"])
        assert isinstance(e, Embeddings)
        assert len(e) == 2
        assert len(e[0]) == 32
        assert e.model == "hash"
        assert e[0] != e[1]

    async def test_single_string(self) -> None:
        e = await conduit.embed("fake/hash", "a")
        assert len(e) == 1
        assert math.isclose(math.fsum(v * v for v in e[0]), 1.0)

    async def test_embedder_instance(self) -> None:
        e = await conduit.embed(HashEmbedder(dimensions=5), "a")
        assert len(e[0]) == 5

    @pytest.mark.parametrize("bad", [42, None, MockModel()])
    async def test_bad_model_types(self, bad: Any) -> None:
        with pytest.raises(ValidationError, match="expected a model string or an Embedder"):
            await conduit.embed(bad, "a")

    async def test_bad_texts(self) -> None:
        with pytest.raises(ValidationError, match="at least one text"):
            await conduit.embed("fake/hash", [])
        with pytest.raises(ValidationError, match="item 1 is int"):
            await conduit.embed("fake/hash", ["a", 1])  # type: ignore[list-item]


class TestResolution:
    def test_model_resolves_fake_echo(self) -> None:
        m = conduit.model("fake/echo")
        assert isinstance(m, FunctionModel)
        assert isinstance(m, conduit.ChatModel)
        assert m.model_info.ref == "fake/echo"

    def test_model_passes_config(self) -> None:
        m = conduit.model("fake/echo", delay=0.01)
        assert isinstance(m, FunctionModel)
        assert m.delay == 0.01

    def test_embedder_resolves_fake_hash(self) -> None:
        e = conduit.embedder("fake/hash", dimensions=8)
        assert isinstance(e, HashEmbedder)
        assert isinstance(e, conduit.Embedder)
        assert e.dimensions == 8
        assert e.model_info.ref == "fake/hash"

    def test_misspelled_setting_is_a_validation_error(self) -> None:
        with pytest.raises(ValidationError, match=r"openai/gpt-4o-mini: .*'api_kye'"):
            conduit.model("openai/gpt-4o-mini", api_kye="sk-test")
        with pytest.raises(ValidationError, match="'dimension'"):
            conduit.embedder("fake/hash", dimension=8)

    def test_other_type_errors_are_not_hidden(self) -> None:
        with pytest.raises(TypeError):
            conduit.embedder("fake/hash", dimensions="eight")

    def test_provider_prefix_is_case_insensitive(self) -> None:
        assert conduit.model("FAKE/echo").model_info.ref == "fake/echo"

    def test_model_strings_are_not_cached_for_model(self) -> None:
        # model() is explicit construction: each call gets its own object (own config)
        assert conduit.model("fake/echo") is not conduit.model("fake/echo")

    def test_unknown_provider_suggests_close_names(self) -> None:
        with pytest.raises(NotFoundError) as info:
            conduit.model("opnai/gpt-4o-mini")
        text = str(info.value)
        assert "unknown provider 'opnai'" in text
        assert "Did you mean 'openai'" in text
        assert "Known providers:" in text
        assert "fake" in text

    def test_unknown_provider_without_close_names(self) -> None:
        with pytest.raises(NotFoundError) as info:
            conduit.chat_sync("zzzzzzzz/m", "hi")
        assert "Did you mean" not in str(info.value)

    @pytest.mark.parametrize("ref", ["gpt-4o-mini", "openai/", "/gpt-4o", "", "  "])
    def test_missing_provider_prefix(self, ref: str) -> None:
        with pytest.raises(ValidationError, match="needs a provider prefix"):
            conduit.model(ref)

    def test_no_prefix_error_shows_an_example(self) -> None:
        with pytest.raises(ValidationError, match="like 'openai/gpt-4o'"):
            conduit.model("gpt-4o")

    def test_non_string_ref(self) -> None:
        with pytest.raises(ValidationError, match="not int"):
            conduit.model(42)  # type: ignore[arg-type]

    def test_unknown_fake_model(self) -> None:
        with pytest.raises(NotFoundError, match="unknown fake model 'nope'"):
            conduit.model("fake/nope")

    def test_provider_without_embedder(self) -> None:
        register_provider(ProviderSpec("chatonly", chat="conduit.providers.fake:fake_chat_model"))
        with pytest.raises(NotFoundError, match="'chatonly' has no embed models"):
            conduit.embedder("chatonly/x")
        assert conduit.model("chatonly/echo").model_info.ref == "fake/echo"

    def test_factory_that_takes_the_provider_spec_gets_it(self) -> None:
        spec = ProviderSpec("spec-aware", chat="tests.core.test_api:SpecAwareModel")
        register_provider(spec)
        m = conduit.model("spec-aware/m1", note="x")
        assert isinstance(m, SpecAwareModel)
        assert m.spec is spec
        assert m.model_info.name == "m1"
        assert m.note == "x"


class SpecAwareModel(FunctionModel):
    def __init__(self, name: str, *, provider: ProviderSpec, note: str = "") -> None:
        super().__init__(lambda msgs, opts: name, name=name)
        self.spec = provider
        self.note = note


class CountingModel(FunctionModel):
    built = 0

    def __init__(self, name: str) -> None:
        type(self).built += 1
        super().__init__(lambda msgs, opts: name, name=name)


class TestModelCache:
    def test_same_string_reuses_the_same_object(self) -> None:
        first = api._chat_model("fake/echo")
        assert api._chat_model("fake/echo") is first
        assert api._chat_model(" FAKE/echo ") is first  # same parsed reference
        assert api._embedder("fake/hash") is api._embedder("fake/hash")
        assert id(api._embedder("fake/hash")) != id(first)  # chat and embed are cached apart

    def test_chat_builds_each_string_once(self) -> None:
        register_provider(
            ProviderSpec(
                "counting",
                chat="tests.core.test_api:CountingModel",
                key_env="COUNTING_TEST_KEY",
                key_required=False,
            )
        )
        CountingModel.built = 0
        for _ in range(3):
            assert conduit.chat_sync("counting/a", "hi").text == "a"
        assert CountingModel.built == 1
        conduit.chat_sync("counting/b", "hi")
        assert CountingModel.built == 2

    def test_changing_the_key_variable_builds_a_new_model(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        register_provider(
            ProviderSpec(
                "counting",
                chat="tests.core.test_api:CountingModel",
                key_env="COUNTING_TEST_KEY",
                key_required=False,
            )
        )
        monkeypatch.setenv("COUNTING_TEST_KEY", "one")
        first = api._chat_model("counting/a")
        monkeypatch.setenv("COUNTING_TEST_KEY", "two")
        second = api._chat_model("counting/a")
        assert second is not first
        monkeypatch.setenv("COUNTING_TEST_KEY", "one")
        assert api._chat_model("counting/a") is first

    def test_changing_the_base_url_variable_builds_a_new_model(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        register_provider(
            ProviderSpec(
                "counting",
                chat="tests.core.test_api:CountingModel",
                base_url_env="COUNTING_TEST_BASE_URL",
                key_required=False,
            )
        )
        monkeypatch.setenv("COUNTING_TEST_BASE_URL", "http://127.0.0.1:1/v1")
        first = api._chat_model("counting/a")
        assert api._chat_model("counting/a") is first
        monkeypatch.setenv("COUNTING_TEST_BASE_URL", "http://127.0.0.1:2/v1")
        assert api._chat_model("counting/a") is not first

    def test_cache_is_bounded(self) -> None:
        register_provider(ProviderSpec("counting", chat="tests.core.test_api:CountingModel"))
        api._cache.clear()
        first = api._chat_model("counting/m0")
        for i in range(1, api._CACHE_SIZE + 1):
            api._chat_model(f"counting/m{i}")
        assert len(api._cache) == api._CACHE_SIZE
        # the least recently used entry (m0) was dropped
        assert api._chat_model("counting/m0") is not first

    def test_recently_used_entries_stay(self) -> None:
        register_provider(ProviderSpec("counting", chat="tests.core.test_api:CountingModel"))
        api._cache.clear()
        first = api._chat_model("counting/m0")
        for i in range(1, api._CACHE_SIZE + 1):
            assert api._chat_model("counting/m0") is first  # keeps m0 fresh
            api._chat_model(f"counting/m{i}")
        assert api._chat_model("counting/m0") is first


def test_top_level_names_are_the_core_functions() -> None:
    assert conduit.chat is api.chat
    assert conduit.chat_sync is api.chat_sync
    assert conduit.stream_sync is api.stream_sync
    assert conduit.Message is Message
