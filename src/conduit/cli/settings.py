"""The command line's own settings: the default model and model aliases, in one small
file (`<config dir>/settings.json`).

`conduit models default NAME` sets the model `ask`, `chat` and `batch` use when
there is no `-m` and no `$CONDUIT_MODEL`; `conduit aliases set NAME MODEL` lets
`-m NAME` stand for `MODEL` (an alias is resolved before the core's resolver, so it
may name any model `conduit.model()` takes).

Example:
    >>> import os, tempfile
    >>> before = os.environ.get("CONDUIT_CONFIG_DIR")
    >>> os.environ["CONDUIT_CONFIG_DIR"] = tempfile.mkdtemp()
    >>> set_alias("fast", "fake/echo")
    >>> resolve_alias("fast"), resolve_alias("openai/gpt-4o")
    ('fake/echo', 'openai/gpt-4o')
    >>> default_model({})
    'local/default'
    >>> set_default_model("fast")
    >>> default_model({}), default_model({"CONDUIT_MODEL": "fake/slow"})
    ('fake/echo', 'fake/slow')
    >>> if before is None: del os.environ["CONDUIT_CONFIG_DIR"]
    ... else: os.environ["CONDUIT_CONFIG_DIR"] = before
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from conduit.errors import ValidationError

__all__ = [
    "BUILT_IN_DEFAULT",
    "aliases",
    "aliases_command",
    "default_model",
    "load_settings",
    "remove_alias",
    "resolve_alias",
    "set_alias",
    "set_default_model",
    "settings_path",
]

BUILT_IN_DEFAULT = "local/default"
"""The model used when nothing else names one: the embedded local model."""
_MODEL_ENV = "CONDUIT_MODEL"
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


def settings_path() -> Path:
    """The settings file.

    Example:
        >>> settings_path().name
        'settings.json'
    """
    from conduit.storage.paths import config_dir

    return config_dir() / "settings.json"


def load_settings() -> dict[str, Any]:
    """The settings (empty when there is no file yet).

    Example:
        >>> isinstance(load_settings(), dict)
        True
    """
    path = settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read {path} ({exc}) — fix or delete it") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path} is not a JSON object — fix or delete it")
    return data


def _save(settings: dict[str, Any]) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)


def aliases() -> dict[str, str]:
    """Every alias and the model it stands for.

    Example:
        >>> isinstance(aliases(), dict)
        True
    """
    found = load_settings().get("aliases") or {}
    return {str(name): str(ref) for name, ref in found.items()} if isinstance(found, dict) else {}


def resolve_alias(ref: str) -> str:
    """The model `ref` stands for, if it is an alias; else `ref` itself.

    Example:
        >>> resolve_alias("fake/echo")
        'fake/echo'
    """
    return aliases().get(ref, ref)


def _checked_model(ref: str) -> str:
    from conduit.api import validate_model

    model = ref.strip()
    if not model:
        raise ValidationError("a model is needed, e.g. openai/gpt-4o-mini")
    validate_model(resolve_alias(model))  # unknown names say so now, with suggestions
    return model


def set_alias(name: str, model: str) -> None:
    """Let `name` stand for `model` (a `"provider/name"` the catalog knows, or a
    `local/...` file).

    Example:
        >>> set_alias("a/b", "fake/echo")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: an alias is one word without '/', like 'fast'...
    """
    if not _ALIAS.match(name):
        raise ValidationError(
            f"an alias is one word without '/', like 'fast', not {name[:40]!r} — "
            "use letters, digits, '-', '_', '.', ':'"
        )
    target = _checked_model(model)
    if target == name:
        raise ValidationError(f"the alias {name!r} cannot stand for itself — name another model")
    settings = load_settings()
    settings["aliases"] = {**aliases(), name: target}
    _save(settings)


def remove_alias(name: str) -> bool:
    """Forget the alias `name`; False when there was none.

    Example:
        >>> remove_alias("no-such-alias")
        False
    """
    found = aliases()
    if found.pop(name, None) is None:
        return False
    settings = load_settings()
    settings["aliases"] = found
    _save(settings)
    return True


def set_default_model(model: str | None) -> None:
    """Make `model` the default (None: back to the built-in one).

    Example:
        >>> set_default_model("openai/gpt-40")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        conduit.errors.NotFoundError: [openai] unknown model 'openai/gpt-40'...
    """
    settings = load_settings()
    if model is None:
        settings.pop("default_model", None)
    else:
        settings["default_model"] = _checked_model(model)
    _save(settings)


def default_model(environ: Mapping[str, str]) -> str:
    """The model to use with no `-m`: `$CONDUIT_MODEL`, else the saved default, else
    the embedded local model (aliases resolved).

    Example:
        >>> default_model({"CONDUIT_MODEL": "fake/echo"})
        'fake/echo'
    """
    chosen = environ.get(_MODEL_ENV) or load_settings().get("default_model") or BUILT_IN_DEFAULT
    return resolve_alias(str(chosen))


@click.group("aliases")
def aliases_command() -> None:
    """Short names for models (-m NAME), kept in the config folder."""


@aliases_command.command("set")
@click.argument("name")
@click.argument("model")
def _set(name: str, model: str) -> None:
    """Let NAME stand for MODEL (e.g. conduit aliases set fast openai/gpt-4o-mini)."""
    set_alias(name, model)
    click.echo(f"{name} -> {model.strip()}", err=True)


@aliases_command.command("list")
@click.option("--json", "json_", is_flag=True, help="print JSON")
def _list(json_: bool) -> None:
    """Every alias and its model."""
    found = aliases()
    if json_:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no aliases — add one with: conduit aliases set NAME MODEL")
    width = max((len(name) for name in found), default=0)
    for name, model in sorted(found.items()):
        click.echo(f"{name:<{width}}  {model}")


@aliases_command.command("remove")
@click.argument("name")
def _remove(name: str) -> None:
    """Forget the alias NAME."""
    if not remove_alias(name):
        raise ValidationError(f"no alias {name!r} — 'conduit aliases list' shows them")
    click.echo(f"removed the alias {name!r}", err=True)
