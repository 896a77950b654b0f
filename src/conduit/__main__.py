"""`python -m conduit …` runs the `conduit` command line.

Example:
    >>> from conduit.cli.main import build_parser
    >>> build_parser().prog
    'conduit'
"""

import sys

from conduit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
