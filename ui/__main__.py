"""``python -m ui [PROJECT]``: the same as ``netstudio [PROJECT]``."""

import sys

from .shell.app import run_app

sys.exit(run_app())
