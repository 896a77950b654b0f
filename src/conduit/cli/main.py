"""`conduit` entry point: parses arguments, runs a command, turns errors into one line.

Example:
    >>> build_parser().parse_args(["ask", "--model", "fake/echo", "Hi"]).model
    'fake/echo'
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conduit.cli import ask, history, models, usage
from conduit.errors import ConduitError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="conduit",
        description="Every LLM behind one small interface. Works offline on a local model.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    ask.add_parser(commands)
    models.add_parser(commands)
    usage.add_parser(commands)
    history.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 error, 2 usage, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        status: int = args.run(args)
    except ConduitError as exc:
        print(f"conduit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
