"""The provider registry: built-ins, `register_provider`, plugins through entry points."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from typing import Any

import pytest

import conduit
from conduit.errors import NotFoundError, ValidationError
from conduit.providers import registry
from conduit.providers.fake import FunctionModel
from conduit.providers.registry import (
    ProviderSpec,
    get_provider,
    load_class,
    provider_names,
    register_provider,
)

ECHO = "conduit.providers.fake:fake_chat_model"
HASH = "conduit.providers.fake:HashEmbedder"
PLUGIN_SPEC = ProviderSpec("entry-point-plugin", chat=ECHO, description="from a real EntryPoint")


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    saved = dict(registry._registry)
    saved_loaded = registry._plugins_loaded
    yield
    registry._registry.clear()
    registry._registry.update(saved)
    registry._plugins_loaded = saved_loaded


class FakeEntryPoint:
    """What `importlib.metadata.entry_points()` yields: a name and `load()`."""

    def __init__(self, name: str, loaded: Any = None, error: Exception | None = None) -> None:
        self.name = name
        self.loaded = loaded
        self.error = error
        self.loads = 0

    def load(self) -> Any:
        self.loads += 1
        if self.error is not None:
            raise self.error
        return self.loaded


class Plugins:
    """Stands in for the installed distributions: their entry points and the groups asked for."""

    def __init__(self) -> None:
        self.entries: list[Any] = []
        self.groups: list[str] = []

    def add(self, entry: Any) -> Any:
        self.entries.append(entry)
        return entry

    def entry_points(self, *, group: str) -> list[Any]:
        self.groups.append(group)
        return list(self.entries)


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Plugins:
    """`conduit.providers.registry` sees these entry points, and loads plugins afresh."""
    fake = Plugins()
    monkeypatch.setattr(registry, "entry_points", fake.entry_points)
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    return fake


def test_built_in_providers() -> None:
    names = provider_names()
    assert {"openai", "openai-compatible", "fake"} <= set(names)
    assert names == sorted(names)
    openai = get_provider("openai")
    assert openai.key_env == "OPENAI_API_KEY"
    assert openai.base_url == "https://api.openai.com/v1"
    assert openai.key_required is True
    assert get_provider("fake").key_required is False
    assert get_provider("openai-compatible").base_url is None


def test_register_provider_and_use_it() -> None:
    spec = ProviderSpec("acme", chat=ECHO, embed=HASH, base_url="https://acme.test/v1")
    register_provider(spec)
    assert get_provider("acme") is spec
    assert "acme" in provider_names()
    assert conduit.chat_sync("acme/echo", "hi").text == "hi"
    assert len(conduit.embed_sync("acme/anything", "hi")[0]) == 32


def test_duplicate_without_replace_is_an_error() -> None:
    register_provider(ProviderSpec("acme", chat=ECHO))
    with pytest.raises(ValidationError, match="'acme' is already registered; pass replace=True"):
        register_provider(ProviderSpec("acme", chat=HASH))
    with pytest.raises(ValidationError, match="already registered"):
        register_provider(ProviderSpec("openai"))
    assert get_provider("acme").chat == ECHO


def test_replace() -> None:
    register_provider(ProviderSpec("acme", chat=ECHO))
    newer = ProviderSpec("acme", chat=ECHO, description="v2")
    register_provider(newer, replace=True)
    assert get_provider("acme") is newer


def test_register_needs_a_spec() -> None:
    with pytest.raises(ValidationError, match="takes a ProviderSpec, not dict"):
        register_provider({"name": "acme"})  # type: ignore[arg-type]


def test_spec_is_frozen_data() -> None:
    spec = ProviderSpec("acme")
    assert (spec.chat, spec.embed, spec.key_env, spec.options) == (None, None, None, {})
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]


def test_unknown_provider_lists_known_ones_and_close_matches() -> None:
    with pytest.raises(NotFoundError) as info:
        get_provider("opneai")
    text = str(info.value)
    assert "unknown provider 'opneai'" in text
    assert "Did you mean 'openai'" in text
    assert "Known providers: " in text
    assert "fake" in text


class TestPlugins:
    def test_plugin_spec_is_registered(self, plugins: Plugins) -> None:
        spec = ProviderSpec("plugged", chat=ECHO, description="from a plugin")
        ep = FakeEntryPoint("plugged", spec)
        plugins.add(ep)
        assert get_provider("plugged") is spec
        assert plugins.groups == ["conduit.providers"]
        assert conduit.chat_sync("plugged/echo", "via plugin").text == "via plugin"
        # plugins are looked up once per process, not on every miss
        with pytest.raises(NotFoundError):
            get_provider("still-unknown")
        assert ep.loads == 1
        assert plugins.groups == ["conduit.providers"]

    def test_plugin_returning_a_list_or_a_factory(self, plugins: Plugins) -> None:
        a = ProviderSpec("plug-a", chat=ECHO)
        b = ProviderSpec("plug-b", embed=HASH)
        c = ProviderSpec("plug-c", chat=ECHO)
        plugins.add(FakeEntryPoint("list", [a, b]))
        plugins.add(FakeEntryPoint("factory", lambda: c))
        plugins.add(FakeEntryPoint("tuple-factory", lambda: (ProviderSpec("plug-d"),)))
        names = provider_names()
        assert {"plug-a", "plug-b", "plug-c", "plug-d"} <= set(names)
        assert get_provider("plug-c") is c

    def test_a_real_entry_point_object(self, plugins: Plugins) -> None:
        plugins.add(
            EntryPoint(
                name="real",
                value="tests.test_registry:PLUGIN_SPEC",
                group="conduit.providers",
            )
        )
        assert get_provider("entry-point-plugin") is PLUGIN_SPEC

    def test_broken_plugins_are_logged_and_skipped(
        self, plugins: Plugins, caplog: pytest.LogCaptureFixture
    ) -> None:
        good = ProviderSpec("good-plugin", chat=ECHO)
        plugins.add(FakeEntryPoint("explodes", error=ImportError("no module named 'x'")))
        plugins.add(FakeEntryPoint("not-a-spec", {"name": "dict-plugin"}))
        plugins.add(FakeEntryPoint("factory-raises", lambda: 1 / 0))
        plugins.add(FakeEntryPoint("good", good))
        with caplog.at_level(logging.ERROR, logger="conduit.providers"):
            assert get_provider("good-plugin") is good
        failed = [r for r in caplog.records if r.name == "conduit.providers"]
        assert [r.getMessage() for r in failed] == [
            "provider plugin 'explodes' failed to load; skipped",
            "provider plugin 'not-a-spec' failed to load; skipped",
            "provider plugin 'factory-raises' failed to load; skipped",
        ]
        assert all(r.exc_info for r in failed)  # the traceback is in the log

    def test_a_plugin_cannot_silently_replace_a_provider(
        self, plugins: Plugins, caplog: pytest.LogCaptureFixture
    ) -> None:
        # Plugins load lazily; if they could replace `openai`, which spec you got would
        # depend on whether anything had asked for an unknown name first.
        before = get_provider("openai")
        plugins.add(FakeEntryPoint("hijack", ProviderSpec("openai", chat=ECHO)))
        with caplog.at_level(logging.ERROR, logger="conduit.providers"):
            provider_names()
        assert get_provider("openai") is before
        assert "provider plugin 'hijack' failed to load" in caplog.text
        assert "already registered" in caplog.text

    def test_known_names_do_not_load_plugins(self, plugins: Plugins) -> None:
        ep = FakeEntryPoint("unused", ProviderSpec("lazy-plugin"))
        plugins.add(ep)
        get_provider("fake")
        assert ep.loads == 0  # resolving a built-in costs no entry-point scan


class TestLoadClass:
    def test_loads_an_attribute(self) -> None:
        assert load_class("conduit.providers.fake:FunctionModel") is FunctionModel

    def test_missing_module_names_it(self) -> None:
        with pytest.raises(NotFoundError) as info:
            load_class("conduit_missing_extra.models:Model")
        text = str(info.value)
        assert "missing module 'conduit_missing_extra'" in text
        assert 'pip install "conduit[all]"' in text
        assert info.value.__cause__ is None

    def test_missing_submodule_names_the_submodule(self) -> None:
        with pytest.raises(NotFoundError, match=r"'conduit\.providers\.no_such_adapter'"):
            load_class("conduit.providers.no_such_adapter:Model")

    def test_missing_attribute(self) -> None:
        with pytest.raises(NotFoundError, match="has no attribute 'NoSuchModel'"):
            load_class("conduit.providers.fake:NoSuchModel")

    @pytest.mark.parametrize(
        "path", ["conduit.providers.fake", ":Model", "conduit.providers.fake:"]
    )
    def test_malformed_paths(self, path: str) -> None:
        with pytest.raises(ValidationError, match=r"looks like 'package\.module:Name'"):
            load_class(path)

    def test_provider_with_a_missing_class(self) -> None:
        register_provider(ProviderSpec("broken", chat="conduit_not_installed:Model"))
        with pytest.raises(NotFoundError, match="conduit_not_installed"):
            conduit.model("broken/x")
