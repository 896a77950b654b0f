"""Provider plugins: a tiny third-party package, made here as a real distribution
(`.dist-info` with `entry_points.txt` on `sys.path`), found through importlib.metadata
and used by its `"prefix/model"` string; a plugin that raises on import is reported,
not fatal; `conduit plugins` lists both."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import conduit
from conduit.cli.plugins import plugins_command
from conduit.providers import registry


def _dist(root: Path, name: str, module: str, source: str, entry: str) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{name.replace('-', '_')}-0.1.0.dist-info"  # as wheels name it
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[conduit.providers]\n{entry}\n")


@pytest.fixture
def plugins(tmp_path: Path) -> Iterator[Path]:
    _dist(
        tmp_path,
        "conduit-echo-plugin",
        "conduit_echo_plugin",
        """
        from conduit.core.protocols import BaseChatModel, ModelInfo
        from conduit.providers.registry import ProviderSpec
        from conduit.schema import Done, Response, TextDelta


        class EchoModel(BaseChatModel):
            def __init__(self, name, *, provider=None, shout=False):
                self._info = ModelInfo(provider="echoplug", name=name)
                self.shout = shout

            @property
            def model_info(self):
                return self._info

            async def _chat(self, messages, options):
                text = messages[-1].text
                text = text.upper() if self.shout else text
                return Response(model=self._info.name, provider="echoplug",
                                content=[{"type": "text", "text": text}])

            async def _stream(self, messages, options):
                response = await self._chat(messages, options)
                yield TextDelta(text=response.text)
                yield Done(response=response)


        SPEC = ProviderSpec("echoplug", chat="conduit_echo_plugin:EchoModel", key_required=False,
                            key_env="ECHOPLUG_KEY", description="echoes",
                            models=({"name": "parrot", "context_window": 4096,
                                     "input_price": 1.0, "output_price": 2.0},))
        """,
        "echoplug = conduit_echo_plugin:SPEC",
    )
    _dist(
        tmp_path,
        "conduit-broken-plugin",
        "conduit_broken_plugin",
        "raise RuntimeError('this plugin is broken on purpose')\n",
        "broken = conduit_broken_plugin:SPEC",
    )
    _dist(
        tmp_path,
        "conduit-badcatalog-plugin",
        "conduit_badcatalog_plugin",
        """
        from conduit.providers.registry import ProviderSpec

        SPEC = ProviderSpec("badcat", chat="x:Y", models=({"name": "m", "kind": "bogus"},))
        """,
        "badcat = conduit_badcatalog_plugin:SPEC",
    )
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    registry.plugin_status(reload=True)
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for module in ("conduit_echo_plugin", "conduit_broken_plugin", "conduit_badcatalog_plugin"):
            sys.modules.pop(module, None)
        importlib.invalidate_caches()
        registry.plugin_status(reload=True)


async def test_a_plugin_is_used_by_its_prefix(plugins: Path) -> None:
    response = await conduit.model("echoplug/parrot", shout=True).chat("hello plugin")

    assert response.text == "HELLO PLUGIN"
    assert response.provider == "echoplug"


def test_a_plugins_catalog_entries_join_the_catalog(plugins: Path) -> None:
    from conduit.catalog import cost_of
    from conduit.catalog.registry import describe_model
    from conduit.schema import Usage

    registry.get_provider("echoplug")

    assert describe_model("echoplug", "parrot").context_window == 4096
    assert cost_of("echoplug/parrot", Usage(input_tokens=10**6, output_tokens=10**6)) == 3.0


def test_a_plugin_with_a_bad_catalog_entry_is_reported(plugins: Path) -> None:
    status = {s.name: s for s in registry.plugin_status()}

    assert status["badcat"].error is not None
    assert "kind must be one of" in status["badcat"].error
    assert "badcat" not in registry.provider_names()


def test_a_broken_plugin_is_reported_not_fatal(plugins: Path) -> None:
    status = {s.name: s for s in registry.plugin_status()}

    assert status["broken"].error is not None
    assert "broken on purpose" in status["broken"].error
    assert status["broken"].distribution == "conduit-broken-plugin"
    assert status["echoplug"].providers == ("echoplug",)
    assert "openai" in registry.provider_names()  # the others still work


def test_the_plugins_command_lists_them(plugins: Path) -> None:
    result = CliRunner().invoke(plugins_command, ["--json"])

    assert result.exit_code == 0
    report = json.loads(result.stdout)
    rows = {p["prefix"]: p for p in report["providers"]}
    assert rows["echoplug"]["source"] == "conduit-echo-plugin"
    assert rows["echoplug"]["models"] == ["parrot"]
    assert rows["bedrock"]["source"] == "built-in"
    assert sorted(f["plugin"] for f in report["failed"]) == ["badcat", "broken"]

    table = CliRunner().invoke(plugins_command, [])
    assert "echoplug" in table.stdout
    assert "conduit-echo-plugin" in table.stdout
    assert "broken on purpose" in table.stderr


def test_builtins_register_through_the_same_registry() -> None:
    for name in ("azure", "bedrock", "vertex", "vertex-anthropic"):
        assert registry.get_provider(name).name == name
    with pytest.raises(Exception, match="already registered"):
        registry.register_provider(registry.get_provider("azure"))


def test_import_conduit_survives_a_broken_plugin(plugins: Path) -> None:
    import os
    import subprocess

    code = (
        "import conduit\n"
        "from conduit.providers import provider_names, plugin_status\n"
        "names = provider_names()\n"
        "print('openai' in names, 'echoplug' in names,"
        " [s.name for s in plugin_status() if s.error])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == "True True ['badcat', 'broken']" or done.stdout.strip() == (
        "True True ['broken', 'badcat']"
    )
    assert "broken" in done.stderr  # reported by name on the conduit.providers logger
