"""`conduit` entry point: one click group; each command lives in its own module and is
imported only when it runs, so `conduit --help` and `conduit ask` start fast.

Exit codes: 0 ok, 1 a Conduit error (one line on stderr), 2 bad usage (one line too:
`conduit: error: <what> — <what to do>`), 130 Ctrl-C. No error prints a traceback
unless `conduit --traceback ...` asks for one (for bug reports). `-v` shows Conduit's
log (retries, cache hits, ...) on stderr on every command: `-v` informational, `-vv`
and more for debugging (`batch` also uses it for its progress detail).

Example:
    >>> sorted(cli.list_commands(None))[:3]
    ['aliases', 'ask', 'batch']
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import click

from conduit import __version__
from conduit.cli.voice import error_line
from conduit.errors import ConduitError

__all__ = ["COMMANDS", "LazyGroup", "cli", "main", "usage_error_line"]

# name -> "module:attribute" of a click command, loaded on first use.
COMMANDS: dict[str, str] = {
    "aliases": "conduit.cli.settings:aliases_command",
    "ask": "conduit.cli.ask:ask_command",
    "batch": "conduit.cli.batch:batch_command",
    "chat": "conduit.cli.chat:chat_command",
    "config": "conduit.cli.config:config_command",
    "embed": "conduit.cli.embed:embed_command",
    "history": "conduit.cli.history:history_command",
    "keys": "conduit.cli.keys:keys",
    "logs": "conduit.cli.logs:logs_command",
    "image": "conduit.cli.image:image",
    "models": "conduit.cli.models:models_command",
    "plugins": "conduit.cli.plugins:plugins_command",
    "rag": "conduit.cli.rag:rag",
    "secrets": "conduit.cli.secrets:secrets",
    "serve": "conduit.cli.serve:serve",
    "templates": "conduit.cli.templates:templates_command",
    "usage": "conduit.cli.usage:usage_command",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when used (see `COMMANDS`)."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context | None) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        found = self.commands.get(cmd_name)
        if found is not None or cmd_name not in self.lazy:
            return found
        module_name, _, attribute = self.lazy[cmd_name].partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        self.commands[cmd_name] = command
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0]) if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.6)
            if close:
                ctx.fail(f"no such command {name!r}. Did you mean {close[0]!r}?")
            ctx.fail(f"no such command {name!r}")
        return super().resolve_command(ctx, args)


@click.group(
    "conduit",
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "-v", "--verbose", count=True, help="show Conduit's log on stderr (-v, -vv, … up to -vvvvv)"
)
@click.option("--traceback", "show_traceback", is_flag=True, help="print tracebacks of errors")
@click.version_option(version=__version__, prog_name="conduit")
@click.pass_context
def cli(ctx: click.Context, verbose: int, show_traceback: bool) -> None:
    """Every LLM behind one small interface. Works offline on a local model."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["traceback"] = show_traceback
    if verbose:
        ctx.call_on_close(show_log(verbose))


def show_log(verbose: int) -> Callable[[], None]:
    """Send the `conduit` loggers' records to stderr: INFO for `-v`, DEBUG for `-vv`+.
    Returns the function that puts logging back as it was.

    Example:
        >>> restore = show_log(1)
        >>> logging.getLogger("conduit").level == logging.INFO
        True
        >>> restore()
        >>> logging.getLogger("conduit").level == logging.NOTSET
        True
    """
    logger = logging.getLogger("conduit")
    level = logger.level
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("conduit: %(levelname)s %(name)s: %(message)s"))
    logger.setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
    logger.addHandler(handler)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    return restore


class _StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError, ValueError):  # stderr closed
            sys.stderr.write(self.format(record) + "\n")


def usage_error_line(error: click.UsageError) -> str:
    """One line for a usage error: what was wrong, and where the options are described.

    Example:
        >>> usage_error_line(click.UsageError("no such option: --colour"))
        "conduit: error: no such option: --colour — see 'conduit --help'"
    """
    where = error.ctx.command_path if error.ctx is not None else "conduit"
    return f"conduit: error: {error.format_message()} — see '{where} --help'"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 error, 2 usage, 130 interrupted)."""
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    if not args:
        click.echo(cli.get_help(click.Context(cli, info_name="conduit")), err=True)
        return 2
    try:
        status = cli.main(args=args, prog_name="conduit", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # a group with no subcommand
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        return 2
    except click.UsageError as exc:
        print(usage_error_line(exc), file=sys.stderr)
        return 2
    except click.exceptions.Exit as exc:  # --help, --version
        return int(exc.exit_code)
    except click.ClickException as exc:
        _report(exc, show_traceback)
        return exc.exit_code
    except ConduitError as exc:
        _report(exc, show_traceback)
        return 1
    except (KeyboardInterrupt, click.Abort):
        print(file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, the traceback only when asked for
        _report(exc, show_traceback)
        return 1
    return status if isinstance(status, int) else 0


def _report(error: BaseException, show_traceback: bool) -> None:
    if show_traceback:
        traceback.print_exception(error, file=sys.stderr)
    print(error_line(error), file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
