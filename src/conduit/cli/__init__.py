"""The `conduit` command line. Run `conduit --help`.

Example:
    >>> from conduit.cli.main import build_parser
    >>> build_parser().parse_args(["ask", "Hi"]).command
    'ask'
"""

from conduit.cli.main import main

__all__ = ["main"]
