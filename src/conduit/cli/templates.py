"""Saved prompt templates: `conduit ask --save NAME ...`, `conduit ask -t NAME`, and
`conduit templates list|show|path`.

A template is a small TOML file in `<config dir>/templates/NAME.toml` holding what an
`ask` was given: `system`, `prompt`, `model`, `options` (temperature, max tokens, `-o`
options) and `schema`. A prompt with `{{ ... }}` is a `conduit.prompts.Prompt` (Jinja2,
sandboxed; `pip install 'conduit[prompts]'`): `{{ input }}` stands for what you ask with
it. A prompt without it comes before your words. Flags given with `-t` win over the
template's.

Example:
    >>> apply_template("Summarise in French: {{ input }}", "The cat sat.")
    'Summarise in French: The cat sat.'
    >>> apply_template("Be terse.", "What is 2+2?")
    'Be terse.\\n\\nWhat is 2+2?'
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import click

from conduit.errors import ValidationError

__all__ = [
    "apply_template",
    "load_template",
    "save_template",
    "template_names",
    "template_path",
    "templates_command",
    "templates_dir",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FIELDS = ("model", "system", "prompt", "options", "schema")


def templates_dir() -> Path:
    """The folder holding saved templates.

    Example:
        >>> templates_dir().name
        'templates'
    """
    from conduit.storage.paths import config_dir

    return config_dir() / "templates"


def template_path(name: str) -> Path:
    """The file of the template `name` (which must be one plain word).

    Example:
        >>> template_path("summary").name
        'summary.toml'
        >>> template_path("../x")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: a template name is one word like 'summary', not '../x'...
    """
    if not _NAME.match(name) or name.endswith(".toml"):
        raise ValidationError(
            f"a template name is one word like 'summary', not {name[:40]!r} — "
            "use letters, digits, '-' and '_'"
        )
    return templates_dir() / f"{name}.toml"


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{_toml_key(key)} = {_toml_value(item)}" for key, item in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise ValidationError(f"cannot save the value {value!r} in a template — use text or numbers")


def _toml_key(key: Any) -> str:
    text = str(key)
    return text if _BARE_KEY.match(text) else json.dumps(text, ensure_ascii=False)


def _toml(data: dict[str, Any]) -> str:
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if k != "options"]
    options = dict(data.get("options") or {})
    extra = options.pop("extra", None)
    if options:
        lines += [
            "",
            "[options]",
            *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in options.items()),
        ]
    if extra:
        lines += ["", "[options.extra]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def save_template(name: str, template: dict[str, Any]) -> Path:
    """Write `template` (its known fields with a value) as `name`; returns the file.

    Example:
        >>> import os, tempfile
        >>> before = os.environ.get("CONDUIT_CONFIG_DIR")
        >>> os.environ["CONDUIT_CONFIG_DIR"] = tempfile.mkdtemp()
        >>> save_template("terse", {"system": "Be terse.", "model": None}).name
        'terse.toml'
        >>> load_template("terse")
        {'system': 'Be terse.'}
        >>> if before is None: del os.environ["CONDUIT_CONFIG_DIR"]
        ... else: os.environ["CONDUIT_CONFIG_DIR"] = before
    """
    data = {key: template[key] for key in _FIELDS if template.get(key) not in (None, "", {})}
    if not data:
        raise ValidationError(
            "nothing to save — give a prompt, -s SYSTEM, -m MODEL or options with --save"
        )
    path = template_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_toml(data), encoding="utf-8")
    return path


def load_template(name: str) -> dict[str, Any]:
    """The saved template `name`.

    Example:
        >>> load_template("no-such-template")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: no template 'no-such-template'...
    """
    path = template_path(name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(
            f"no template {name!r} — 'conduit templates list' shows the saved ones"
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"cannot read the template {name!r} ({exc}) — fix {path}") from None
    if not isinstance(data, dict) or not set(data) <= set(_FIELDS):
        raise ValidationError(
            f"the template {name!r} is not a mapping of {', '.join(_FIELDS)} — fix {path}"
        )
    if not isinstance(data.get("options", {}), dict):
        raise ValidationError(f"the template {name!r}'s options are not a mapping — fix {path}")
    return data


def template_names() -> list[str]:
    """The saved templates' names, sorted.

    Example:
        >>> isinstance(template_names(), list)
        True
    """
    folder = templates_dir()
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.glob("*.toml"))


def apply_template(prompt: str, question: str) -> str:
    """The template's `prompt` with `{{ input }}` replaced by `question`; a prompt that
    does not use `input` comes before the question.

    Example:
        >>> apply_template("Translate: {{ input }}", "")
        'Translate: '
    """
    if "{{" not in prompt and "{%" not in prompt:
        return "\n\n".join(part for part in (prompt, question) if part)
    from conduit.prompts import Prompt

    template = Prompt(prompt, name="template")
    others = sorted(template.input_schema - {"input"})
    if others:
        raise ValidationError(
            f"the template's prompt uses {', '.join(others)} — only {{{{ input }}}} is "
            "filled in from the command line"
        )
    if "input" in template.input_schema:
        return template.render(input=question)
    return "\n\n".join(part for part in (template.render(), question) if part)


@click.group("templates")
def templates_command() -> None:
    """Saved prompt templates (ask --save NAME; ask -t NAME)."""


@templates_command.command("list")
def _list() -> None:
    """The saved templates, with their prompt or system prompt."""
    names = template_names()
    if not names:
        click.echo('no templates — save one with: conduit ask --save NAME -s "..." "..."')
    for name in names:
        try:
            data = load_template(name)
        except ValidationError:
            click.echo(f"{name}: (unreadable)")
            continue
        summary = " ".join(str(data.get("prompt") or data.get("system") or "").split())
        click.echo(f"{name}: {summary[:70]}")


@templates_command.command("show")
@click.argument("name")
def _show(name: str) -> None:
    """Print the template NAME."""
    load_template(name)  # a clear error for a missing or broken one
    click.echo(template_path(name).read_text(encoding="utf-8").rstrip("\n"))


@templates_command.command("path")
def _path() -> None:
    """Print the folder templates are saved in."""
    click.echo(str(templates_dir()))
