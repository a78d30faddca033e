"""python -m rtshell"""

import sys

from rtshell.cli import main

sys.exit(main())
