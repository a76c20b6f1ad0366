"""``python -m ui.screenshots [FOLDER]``: PNGs of the window on a few examples, for the README.

Run it under a display (``make screenshots`` uses Xvfb).  It uses throwaway
settings and app data, so it neither reads nor changes the user's.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

SIZE = (1600, 960)


def _settle(app, window) -> None:
    for _ in range(5):
        window.controller.wait_for_check()
        app.processEvents()


def _break_mlp(window) -> None:
    """Make the second Linear expect the wrong width, and select it: an error to show."""
    from .commands import SetParam
    doc = window.controller.document
    second = [n for n in doc.project.root_definition.nodes.values() if n.type == "Linear"][1]
    window.controller.push(SetParam(doc, "main", second.id, "in_features", 128))
    window.canvas.select_nodes([second.id])


def _select_tied(window) -> None:
    doc = window.controller.document
    tied = next(n for n in doc.project.root_definition.nodes.values() if n.tied_to)
    window.canvas.select_nodes([tied.id])


def capture(folder: Path) -> list[Path]:
    from PySide6.QtCore import QSettings

    from . import prompts
    from .app import create_window, ensure_app
    from .examples import EXAMPLES_DIR

    scratch = Path(tempfile.mkdtemp(prefix="netstudio-shots-"))
    os.environ["NETSTUDIO_DATA_DIR"] = str(scratch / "data")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings"))
    app = ensure_app()
    untrusted = scratch / "centered.netstudio"
    shutil.copy(EXAMPLES_DIR / "centered.netstudio", untrusted)
    prompts.ask_trust = lambda parent, names: False
    shots = [("mlp", EXAMPLES_DIR / "mlp.netstudio", None),
             ("chimera", EXAMPLES_DIR / "chimera.netstudio", None),
             ("tied", EXAMPLES_DIR / "tied.netstudio", _select_tied),
             ("shape-error", EXAMPLES_DIR / "mlp.netstudio", _break_mlp),
             ("untrusted-code", untrusted, None)]
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    try:
        for name, project, prepare in shots:
            window = create_window(project)
            window.resize(*SIZE)
            window.show()
            _settle(app, window)
            window.canvas.fit()
            if prepare is not None:
                prepare(window)
            _settle(app, window)
            path = folder / f"{name}.png"
            window.grab().save(str(path))
            saved.append(path)
            window.controller.undo_stack.setClean()
            window.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return saved


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "docs/screenshots")
    for path in capture(folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
