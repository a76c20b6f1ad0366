"""Starting the app: ``create_window`` for tests and embedding, ``run_app`` for
``netstudio [PROJECT]`` and ``python -m ui``.

Arguments are parsed before Qt starts, so ``--help`` needs no display.
The window opens, in order of preference: a project left by a crash (if the
user recovers it), the project named on the command line, the most recent
project, or the bundled MLP example, so it is never empty.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ..panels import install_panels
from . import prompts
from .settings import APPLICATION, ORGANIZATION


def ensure_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0], *(argv or [])])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName("netstudio")
    from .wheel_guard import WheelGuard
    WheelGuard.install(app)   # the wheel scrolls panels; it never changes a value nobody is editing
    return app


def create_window(project_path: str | Path | None = None, panels: bool = True):
    """The ready main window (not yet shown), creating the QApplication if there is none.

    With ``panels=False`` the parameter panels are left for the caller to add
    (``ui.panels.install_panels``), as ``run_app`` does right after showing the window.
    """
    ensure_app()
    from .autosave import find_recoveries
    from .examples import FIRST_EXAMPLE
    from .main_window import MainWindow

    window = MainWindow()
    _sweep_litter(window)
    if not _offer_recovery(window, find_recoveries()):
        recent = window.files.recent.paths()
        candidates = [project_path] if project_path else recent[:1]
        if not any(window.files.load(p) for p in candidates):
            window.files.load(FIRST_EXAMPLE)
    if panels:
        install_panels(window)
    window.restore_layout()
    return window


def _sweep_litter(window) -> None:
    """Remove what saves killed half-way left behind (hidden temporary files as large as the model)
    beside the recent projects and in the recovery folder; files of a live writer are left alone."""
    from netstudio.files.atomic import sweep_stale_temp_files

    from .autosave import recovery_dir
    folders: dict = {}
    for path in window.files.recent.paths():
        folders.setdefault(path.parent, []).append(path.name)
    for folder, names in folders.items():
        sweep_stale_temp_files(folder, names)
    sweep_stale_temp_files(recovery_dir())


def _offer_recovery(window, recoveries) -> bool:
    """Offer each crashed session's work, newest first; True once one is recovered."""
    recovered = False
    for recovery in recoveries:
        if recovered:
            recovery.release()  # offered again at the next start
            continue
        answer = prompts.ask_recover(window, recovery.describe())
        if answer == prompts.RECOVER:
            recovered = window.files.recover(recovery)
        elif answer == prompts.DISCARD:
            recovery.discard()
        else:
            recovery.release()
    return recovered


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netstudio", description="Build and inspect neural networks visually.",
                                     epilog="Without a display: netstudio check|summary PROJECT (see "
                                            "'netstudio check --help').")
    parser.add_argument("project", nargs="?", help="a .netstudio project to open")
    desktop = parser.add_mutually_exclusive_group()
    desktop.add_argument("--install-desktop", action="store_true",
                         help="add NetStudio to the desktop's application menu (for the current user) and exit")
    desktop.add_argument("--uninstall-desktop", action="store_true",
                         help="remove what --install-desktop added and exit")
    return parser


def run_app(argv: list[str] | None = None) -> int:
    """Start the app; ``--install-desktop``/``--uninstall-desktop`` run without a display."""
    args, qt_args = build_parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.install_desktop or args.uninstall_desktop:
        return _desktop_entry(args.install_desktop)
    if not _display_available():
        print("netstudio: no display to show the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
              "'netstudio check PROJECT' and 'netstudio summary PROJECT' work without one.", file=sys.stderr)
        return 2
    app = ensure_app(qt_args)
    from .exception_hook import ExceptionHook
    hook = ExceptionHook().install()
    try:
        window = create_window(args.project, panels=False)
        window.show()
        QTimer.singleShot(0, lambda: _finish_start(window))
        return app.exec()
    finally:
        hook.uninstall()


def _finish_start(window) -> None:
    """After the window appears: the parameter panels, then freeze start-up objects out of
    the garbage collector's scans, which otherwise cause pauses during edits of large graphs."""
    install_panels(window)
    gc.freeze()


def _display_available() -> bool:
    """Qt aborts the process when it finds no display; say so in one line instead (X11/Wayland only)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _desktop_entry(install: bool) -> int:
    from netstudio import desktop_entry
    try:
        if install:
            for path in desktop_entry.install():
                print(f"installed {path}")
        else:
            for path in desktop_entry.uninstall():
                print(f"removed {path}")
    except OSError as err:
        print(f"netstudio: cannot {'install' if install else 'remove'} the desktop entry: "
              f"{err.strerror or err}.", file=sys.stderr)
        return 2
    return 0
