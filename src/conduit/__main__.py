"""`python -m conduit …` runs the `conduit` command line.

Example:
    >>> from conduit.cli.main import cli
    >>> cli.name
    'conduit'
"""

import sys

from conduit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
