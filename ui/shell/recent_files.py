"""The recently opened projects, newest first, kept in the settings so every
window and every later session sees the same list."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from .settings import settings

KEY = "recent_files"
LIMIT = 10


class RecentFiles(QObject):
    changed = Signal()

    def paths(self) -> list[Path]:
        """The stored paths that still exist."""
        value = settings().value(KEY, [])
        if isinstance(value, str):  # QSettings returns a lone entry as a plain string
            value = [value]
        return [Path(p) for p in value or [] if Path(p).is_file()]

    def add(self, path: str | Path) -> None:
        path = Path(path).resolve()
        self._store([path] + [p for p in self.paths() if p != path])

    def clear(self) -> None:
        self._store([])

    def _store(self, paths: list[Path]) -> None:
        settings().setValue(KEY, [str(p) for p in paths[:LIMIT]])
        self.changed.emit()
