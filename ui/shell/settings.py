"""Where the app keeps its state: QSettings (window layout, recent files) and an
app-data folder (recovery files, the log).

Both locations can be redirected, so tests and portable installs never touch
the user's real settings: ``NETSTUDIO_DATA_DIR`` moves the app-data folder, and
``QSettings.setPath(IniFormat, UserScope, folder)`` moves the settings file.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ORGANIZATION = "NetStudio"
APPLICATION = "NetStudio"
DATA_DIR_ENV = "NETSTUDIO_DATA_DIR"


def settings() -> QSettings:
    """The user's settings, always as an INI file (the same format on every platform)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def app_data_dir() -> Path:
    """The app-data folder, created on first use."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        folder = Path(override)
    else:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
        folder = Path(base or Path.home() / ".local" / "share") / APPLICATION.lower()
    folder.mkdir(parents=True, exist_ok=True)
    return folder
