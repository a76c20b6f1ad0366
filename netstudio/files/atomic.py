"""Crash-safe file writes.

A save that dies half-way (a crash, a full disk, a killed process) must never
damage the file the user already had.  So every write goes to a temporary file
in the same directory, is flushed and fsynced, and only then renamed over the
target with ``os.replace`` (atomic on POSIX and Windows); the directory is
fsynced too so the rename itself survives a power cut.

With ``backup=True`` the previous version is kept next to the new one as
``<name>.bak`` (``model.safetensors`` -> ``model.safetensors.bak``), replacing
any older backup.  The backup is a hard link to the old file where the file
system allows it (no copy, no moment without a target file), else a copy.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from netstudio.errors import NetStudioError

BACKUP_SUFFIX = ".bak"


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, backup: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically (see the module docstring)."""
    with atomic_writer(path, "wb", backup=backup) as f:
        f.write(data)


@contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "wb", *, backup: bool = False) -> Iterator[IO]:
    """Yield a file to write; ``path`` is replaced only if the block finishes.

    ``mode`` is ``"wb"`` (bytes) or ``"w"`` (UTF-8 text).  If the block raises,
    the temporary file is removed and ``path`` is left untouched.  Operating
    system errors (no space, no permission) become a one-sentence
    :class:`NetStudioError`.
    """
    if mode not in ("wb", "w"):
        raise NetStudioError(f"atomic_writer supports the modes 'wb' and 'w', not {mode!r}.")
    target = Path(os.path.realpath(path))
    try:
        tmp, fd = _create_temp(target)
    except OSError as err:
        raise _write_error(target, err) from None
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
            if backup:
                _keep_backup(target)
        os.replace(tmp, target)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise _write_error(target, err) from None
        raise
    _fsync_dir(target.parent)


def backup_path(path: str | os.PathLike) -> Path:
    """Where ``atomic_writer(path, backup=True)`` keeps the previous version."""
    path = Path(path)
    return path.with_name(path.name + BACKUP_SUFFIX)


def _create_temp(target: Path) -> tuple[Path, int]:
    """Create a hidden, uniquely named file beside ``target``.

    ``os.open`` with mode 0o666 lets the umask decide permissions, as for any
    new file (``mkstemp`` would force 0o600).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue


def _keep_backup(target: Path) -> None:
    """Make ``<target>.bak`` refer to the current contents of ``target``."""
    bak = backup_path(target)
    staged = bak.with_name(f".{bak.name}.{secrets.token_hex(4)}.tmp")
    try:
        try:
            os.link(target, staged)
        except OSError:
            shutil.copy2(target, staged)
        os.replace(staged, bak)
    finally:
        staged.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    """Persist a rename; directories cannot be opened on Windows, so skip there."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_error(target: Path, err: OSError) -> NetStudioError:
    reason = (err.strerror or str(err)).rstrip(".")
    return NetStudioError(f"Could not save '{target.name}': {reason}.")
