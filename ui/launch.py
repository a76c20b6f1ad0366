"""The ``netstudio`` command: engine subcommands headless, otherwise the desktop app.

``netstudio check|summary|export|inspect ...`` go to ``netstudio.cli`` without
importing Qt, so they work on machines without a display; anything else
(``netstudio``, ``netstudio PROJECT``, ``--install-desktop``) starts the app
or its launcher tasks.
"""

from __future__ import annotations

import sys

from netstudio.cli import SUBCOMMANDS
from netstudio.cli import main as engine_main


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return engine_main(argv)
    from ui.shell.app import run_app
    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
