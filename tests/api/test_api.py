"""The top-level API: `chat`, `stream`, `embed`, `model`, `embedder` and their resolution."""

from __future__ import annotations

import math
from typing import Any

import pytest

import conduit
from conduit.api import resolve as api
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

    @pytest.mark.parametrize("ref", ["openai/", "/gpt-4o", "", "  "])
    def test_malformed_reference(self, ref: str) -> None:
        with pytest.raises(ValidationError, match=r"provider prefix|a model is a string"):
            conduit.model(ref)

    @pytest.mark.parametrize(
        ("bare", "ref"),
        [
            ("gpt-4o-mini", "openai/gpt-4o-mini"),
            ("claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),
            ("GPT-4O-MINI", "openai/gpt-4o-mini"),
            # Vertex resells it; the vendor's own API wins.
            ("gemini-2.5-flash", "gemini/gemini-2.5-flash"),
        ],
    )
    def test_bare_catalog_name_resolves_to_its_vendor(self, bare: str, ref: str) -> None:
        assert conduit.model(bare, api_key="sk-test").model_info.ref == ref
        assert api.resolve_ref(bare) == ref

    def test_bare_name_works_in_every_call(self) -> None:
        model = conduit.model("gpt-4o-mini", api_key="sk-test")
        assert conduit.model(model) is model  # a model object passes through as it is
        assert api.cached_model("gpt-4o-mini", api_key="sk-t") is api.cached_model(
            "openai/gpt-4o-mini", api_key="sk-t"
        )

    def test_unknown_bare_name_lists_close_matches(self) -> None:
        with pytest.raises(NotFoundError) as info:
            conduit.model("gpt-4o-mni")
        assert "Did you mean 'openai/gpt-4o-mini'" in str(info.value)
        assert "'openai/gpt-4o-mni'" in str(info.value)  # how to say it with a prefix

    def test_bare_name_two_vendors_list_is_ambiguous(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from conduit.catalog import CatalogEntry, registry

        entries = [e for e in registry.models() if e.name == "gpt-4o-mini"]
        twin = [
            CatalogEntry(
                provider="mistral",
                name="gpt-4o-mini",
                kind="chat",
                capabilities=entries[0].capabilities,
            )
        ]
        monkeypatch.setattr(api, "models", lambda kind=None: [*registry.models(kind=kind), *twin])
        with pytest.raises(ValidationError, match="several providers; say which") as info:
            conduit.model("gpt-4o-mini")
        assert "'mistral/gpt-4o-mini'" in str(info.value)
        assert "'openai/gpt-4o-mini'" in str(info.value)

    @pytest.mark.parametrize(
        ("setting", "value"),
        [
            ("timeout", -1),
            ("timeout", 0),
            ("timeout", float("nan")),
            ("timeout", float("inf")),
            ("timeout", True),
            ("timeout", "30"),
            ("max_retries", -1),
            ("max_retries", 1.5),
            ("max_retries", float("nan")),
            ("max_retries", True),
        ],
    )
    def test_bad_timeouts_and_retries_are_refused_naming_the_argument(
        self, setting: str, value: Any
    ) -> None:
        with pytest.raises(ValidationError, match=setting):
            conduit.model("openai/gpt-4o-mini", api_key="sk-test", **{setting: value})

    def test_a_number_is_a_timeout_in_seconds(self) -> None:
        # It used to crash: 'int' object has no attribute 'total'.
        model = conduit.model("openai/gpt-4o-mini", api_key="sk-test", timeout=30, max_retries=0)
        transport = model._conn.client.transport  # type: ignore[attr-defined]
        assert transport.timeout == conduit.Timeout(total=30)
        assert model._conn.client.retry.max_retries == 0  # type: ignore[attr-defined]
        timed = conduit.model("openai/gpt-4o-mini", api_key="sk-test", timeout=conduit.Timeout(5))
        assert timed._conn.client.transport.timeout.total == 5  # type: ignore[attr-defined]

    def test_non_string_ref(self) -> None:
        with pytest.raises(ValidationError, match="not int"):
            conduit.model(42)  # type: ignore[arg-type]

    def test_unknown_fake_model(self) -> None:
        with pytest.raises(NotFoundError, match="unknown fake model 'nope'"):
            conduit.model("fake/nope")

    def test_provider_without_embedder(self) -> None:
        register_provider(ProviderSpec("chatonly", chat="conduit.providers.fake:fake_chat_model"))
        with pytest.raises(ValidationError, match="'chatonly' has no embedding models"):
            conduit.embedder("chatonly/x")
        assert conduit.model("chatonly/echo").model_info.ref == "fake/echo"

    def test_factory_that_takes_the_provider_spec_gets_it(self) -> None:
        spec = ProviderSpec("spec-aware", chat="tests.api.test_api:SpecAwareModel")
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
        first = api.cached_model("fake/echo")
        assert api.cached_model("fake/echo") is first
        assert api.cached_model(" FAKE/echo ") is first  # same parsed reference
        assert api.cached_embedder("fake/hash") is api.cached_embedder("fake/hash")
        assert id(api.cached_embedder("fake/hash")) != id(first)  # chat and embed are cached apart

    def test_chat_builds_each_string_once(self) -> None:
        register_provider(
            ProviderSpec(
                "counting",
                chat="tests.api.test_api:CountingModel",
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
                chat="tests.api.test_api:CountingModel",
                key_env="COUNTING_TEST_KEY",
                key_required=False,
            )
        )
        monkeypatch.setenv("COUNTING_TEST_KEY", "one")
        first = api.cached_model("counting/a")
        monkeypatch.setenv("COUNTING_TEST_KEY", "two")
        second = api.cached_model("counting/a")
        assert second is not first
        monkeypatch.setenv("COUNTING_TEST_KEY", "one")
        assert api.cached_model("counting/a") is first

    def test_changing_the_base_url_variable_builds_a_new_model(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        register_provider(
            ProviderSpec(
                "counting",
                chat="tests.api.test_api:CountingModel",
                base_url_env="COUNTING_TEST_BASE_URL",
                key_required=False,
            )
        )
        monkeypatch.setenv("COUNTING_TEST_BASE_URL", "http://127.0.0.1:1/v1")
        first = api.cached_model("counting/a")
        assert api.cached_model("counting/a") is first
        monkeypatch.setenv("COUNTING_TEST_BASE_URL", "http://127.0.0.1:2/v1")
        assert api.cached_model("counting/a") is not first

    def test_cache_is_bounded(self) -> None:
        register_provider(ProviderSpec("counting", chat="tests.api.test_api:CountingModel"))
        api._cache.clear()
        first = api.cached_model("counting/m0")
        for i in range(1, api._CACHE_SIZE + 1):
            api.cached_model(f"counting/m{i}")
        assert len(api._cache) == api._CACHE_SIZE
        # the least recently used entry (m0) was dropped
        assert api.cached_model("counting/m0") is not first

    def test_recently_used_entries_stay(self) -> None:
        register_provider(ProviderSpec("counting", chat="tests.api.test_api:CountingModel"))
        api._cache.clear()
        first = api.cached_model("counting/m0")
        for i in range(1, api._CACHE_SIZE + 1):
            assert api.cached_model("counting/m0") is first  # keeps m0 fresh
            api.cached_model(f"counting/m{i}")
        assert api.cached_model("counting/m0") is first


def test_top_level_names_are_the_core_functions() -> None:
    import conduit.api

    assert conduit.chat is conduit.api.chat
    assert conduit.chat_sync is conduit.api.chat_sync
    assert conduit.stream_sync is conduit.api.stream_sync
    assert conduit.model is api.model
    assert conduit.Message is Message
