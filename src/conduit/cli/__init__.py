"""The `conduit` command line. Run `conduit --help`.

Example:
    >>> from conduit.cli.main import cli
    >>> cli.get_command(None, "ask").name
    'ask'
"""

from conduit.cli.main import main

__all__ = ["main"]
