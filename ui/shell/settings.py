"""Where the app keeps its state: QSettings (window layout, recent files) and an
app-data folder (recovery files, the log).

Both locations can be redirected, so tests and portable installs never touch
the user's real settings: ``NETSTUDIO_DATA_DIR`` moves the app-data folder, and
``QSettings.setPath(IniFormat, UserScope, folder)`` moves the settings file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from netstudio.app_data import DATA_DIR_ENV, app_data_dir as engine_app_data_dir  # noqa: F401 - DATA_DIR_ENV for tests

ORGANIZATION = "NetStudio"
APPLICATION = "NetStudio"


def settings() -> QSettings:
    """The user's settings, always as an INI file (the same format on every platform)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def app_data_dir() -> Path:
    """The app-data folder, created on first use (the engine's, so the command line agrees)."""
    return engine_app_data_dir()
