"""python -m rtshell"""

import sys

from rtshell.cli import run

sys.exit(run())
