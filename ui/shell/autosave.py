"""Autosave and crash recovery.

While its project is modified, each window writes it every so often (30 s by
default) to its own recovery file under ``<app data>/recovery``, with the
original path recorded, and its trained weights beside it (``.weights``, a
safetensors file) when they differ from what the seed reproduces.  The file is locked (``QLockFile``) for the window's
lifetime: a clean close or a save removes it, a crash leaves it behind with a
stale lock, and the next start finds it and offers to recover it.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QLockFile, QObject, QTimer

from netstudio.errors import NetStudioError
from netstudio.files.atomic import atomic_write_bytes
from netstudio.files.tensor_io import load_tensors, save_tensors
from netstudio.graph import Project
from netstudio.serialization import project_from_dict

from ..document.controller import DocumentController
from .settings import app_data_dir

FORMAT = "netstudio-recovery"
SUFFIX = ".recovery"
WEIGHTS_SUFFIX = ".weights"
UNPLACED_SUFFIX = ".unplaced"
DEFAULT_INTERVAL_MS = 30_000


def recovery_dir() -> Path:
    folder = app_data_dir() / "recovery"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _lock(path: Path) -> QLockFile:
    lock = QLockFile(str(path.with_suffix(".lock")))
    lock.setStaleLockTime(0)  # stale only when its process is gone, however old
    return lock


class Autosaver(QObject):
    """Writes ``controller``'s project to this window's recovery file while it is modified.

    ``label`` gives the name the user knows the project by, for the recovery offer.
    """

    def __init__(self, controller: DocumentController, label: Callable[[], str], parent: QObject | None = None,
                 interval_ms: int = DEFAULT_INTERVAL_MS, on_trusted_code: Callable[[Project], None] | None = None):
        super().__init__(parent)
        self.controller = controller
        self.label = label
        self.on_trusted_code = on_trusted_code   # told the code of a trusted project it writes, for recovery
        self.path = recovery_dir() / f"{uuid.uuid4().hex}{SUFFIX}"
        self.lock = _lock(self.path)
        self.lock.tryLock(0)
        self._written: str | None = None
        self._weights_written: int | None = None
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.save_now)
        controller.modified_changed.connect(self._on_modified)
        self._on_modified(controller.modified)

    def set_interval(self, ms: int) -> None:
        self.timer.setInterval(ms)

    def save_now(self) -> None:
        """Write the recovery file if the project changed since the last write."""
        if not self.controller.modified:
            return
        project = self.controller.document.project
        if project.trusted and project.code and self.on_trusted_code is not None:
            self.on_trusted_code(project)
        record = {"format": FORMAT, "version": 1, "saved": time.time(), "label": self.label(),
                  "original": str(self.controller.path) if self.controller.path else None,
                  "trusted": project.trusted, "project": project.to_dict()}
        weights = self._save_weights()
        if weights is not None:
            record["weights"] = weights.name
        try:
            text = json.dumps(record, ensure_ascii=False)
            if text != self._written:
                atomic_write_bytes(self.path, text.encode("utf-8"))
                self._written = text
        except Exception as err:  # noqa: BLE001 - a full disk (or anything) must not raise from a timer every 30 s
            logging.getLogger(__name__).warning("autosave to %s failed: %s", self.path, err)

    @property
    def weights_path(self) -> Path:
        return self.path.with_suffix(WEIGHTS_SUFFIX)

    def _save_weights(self) -> Path | None:
        """Write the weights (and the stored tensors that fit nowhere) beside the recovery file when
        they changed since the last write; never while a run is changing them: the next autosave
        catches up."""
        session = self.controller.session
        if not session.weights_modified:
            return None
        if self.controller.busy or session.weights_version == self._weights_written:
            return self.weights_path if self.weights_path.exists() else None
        future = session.request_snapshot()
        if not future.done():
            return self.weights_path if self.weights_path.exists() else None
        try:
            snapshot = future.result()
            if snapshot.weights is None and not snapshot.unplaced:
                return None
            save_tensors(snapshot.weights or {}, self.weights_path)
            if snapshot.unplaced:
                save_tensors(snapshot.unplaced, self.unplaced_path)
            else:
                self.unplaced_path.unlink(missing_ok=True)
        except (NetStudioError, OSError) as err:
            logging.getLogger(__name__).warning("autosave of the weights failed: %s", err)
            return None
        self._weights_written = session.weights_version
        return self.weights_path

    @property
    def unplaced_path(self) -> Path:
        return self.path.with_suffix(UNPLACED_SUFFIX)

    def discard(self) -> None:
        """Remove the recovery file (the project was saved, reverted or closed on purpose)."""
        for path in (self.path, self.weights_path, self.unplaced_path):
            path.unlink(missing_ok=True)
        self._written = None
        self._weights_written: int | None = None

    def close(self) -> None:
        """A clean exit: no recovery file, no lock."""
        self.timer.stop()
        self.discard()
        self.lock.unlock()

    def _on_modified(self, modified: bool) -> None:
        if modified:
            self.timer.start()
        else:
            self.timer.stop()
            self.discard()


@dataclass
class Recovery:
    """A recovery file left by a crash, locked by this process while the user decides."""

    path: Path
    label: str
    original: Path | None
    saved: float
    trusted: bool
    data: dict
    lock: QLockFile

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved))
        where = f"from {self.original}" if self.original else "never saved"
        return f"{self.label} ({where}), autosaved {when}.\nRecovery file: {self.path}"

    def project(self) -> Project:
        return project_from_dict(self.data, "The recovered project", trusted=self.trusted)

    def weights(self) -> dict | None:
        """The autosaved weights, or None (none were written, or they cannot be read)."""
        return _read_tensors(self.path.with_suffix(WEIGHTS_SUFFIX))

    def unplaced(self) -> dict:
        """The autosaved stored tensors that fit nowhere (empty if none)."""
        return _read_tensors(self.path.with_suffix(UNPLACED_SUFFIX)) or {}

    def discard(self) -> None:
        for suffix in (SUFFIX, WEIGHTS_SUFFIX, UNPLACED_SUFFIX):
            self.path.with_suffix(suffix).unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        self.lock.unlock()


def _read_tensors(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        loaded = load_tensors(path)
    except NetStudioError:
        return None
    return {k: v.clone() for k, v in loaded.items()} if isinstance(loaded, dict) else None


def find_recoveries() -> list[Recovery]:
    """Recovery files whose window is gone (its lock is stale), newest first.

    Files that cannot be read are removed: there is nothing in them to recover.
    """
    folder = recovery_dir()
    for lock_path in folder.glob("*.lock"):
        if not lock_path.with_suffix(SUFFIX).exists():
            lock = _lock(lock_path)
            if lock.tryLock(0):  # left by a window that crashed before its first autosave
                lock.unlock()
    found = []
    for path in folder.glob(f"*{SUFFIX}"):
        lock = _lock(path)
        if not lock.tryLock(0):
            continue  # a live window owns it
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.get("format") != FORMAT or not isinstance(record.get("project"), dict):
                raise ValueError("not a recovery file")
            original = Path(record["original"]) if record.get("original") else None
            found.append(Recovery(path, str(record.get("label") or "Untitled"), original,
                                  float(record.get("saved") or 0), bool(record.get("trusted")),
                                  record["project"], lock))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)
            lock.unlock()
    return sorted(found, key=lambda r: r.saved, reverse=True)
