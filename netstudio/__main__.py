"""``python -m netstudio SUBCOMMAND``: the engine's command line, as torchrun's ``-m netstudio`` needs."""

import sys

from netstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
