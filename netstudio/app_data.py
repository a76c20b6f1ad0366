"""The app-data folder (trusted code, recovery files, the log), found without Qt.

The command line and the app must agree on it, or code trusted by
``netstudio import`` would be asked about again in the app.  It is the
platform's generic data location (what Qt calls ``GenericDataLocation``) plus
``netstudio``; ``NETSTUDIO_DATA_DIR`` moves it, so tests and portable installs
never touch the user's real files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DATA_DIR_ENV = "NETSTUDIO_DATA_DIR"


def app_data_dir() -> Path:
    """The folder, created on first use."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        folder = Path(override)
    elif sys.platform == "win32":
        folder = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "netstudio"
    elif sys.platform == "darwin":
        folder = Path.home() / "Library" / "Application Support" / "netstudio"
    else:
        folder = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "netstudio"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def trust_store_path() -> Path:
    return app_data_dir() / "trusted-code.json"
