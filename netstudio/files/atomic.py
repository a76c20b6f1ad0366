"""Crash-safe file writes, and the removal of what dead writers left behind.

A save that dies half-way (a crash, a full disk, a killed process) must never
damage the file the user already had.  So every write goes to a temporary file
in the same directory, is flushed and fsynced, and only then renamed over the
target with ``os.replace`` (atomic on POSIX and Windows); the directory is
fsynced too so the rename itself survives a power cut.

With ``backup=True`` the previous version is kept next to the new one as
``<name>.bak`` (``model.safetensors`` -> ``model.safetensors.bak``), replacing
any older backup.  The backup is a hard link to the old file where the file
system allows it (no copy, no moment without a target file), else a copy.

A killed writer leaves its temporary file, ``.<name>.netstudio-<8 hex>.tmp``,
as large as what it was writing.  Those files are removed at the next save of
the same file, and :func:`sweep_stale_temp_files` removes them from any
folder (the app sweeps its recovery folder and the folders of recent projects
at start).  A temporary file of a writer that is still alive, another process
in the middle of a save, must survive; age cannot tell them apart (a large
save on a slow disk takes long), so the writer holds an ``flock`` on its file
until the rename, and a sweeper deletes only files it can lock.  Where
``fcntl`` is missing (Windows) or the file system has no locks, a sweeper
deletes only files untouched for a day.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from netstudio.errors import NetStudioError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

BACKUP_SUFFIX = ".bak"
STALE_AFTER_SECONDS = 24 * 3600   # the fallback where locks are unavailable
_TEMP = re.compile(r"\A\.(?P<name>.+)\.netstudio-[0-9a-f]{8}\.tmp\Z")
_LEGACY_TEMP = re.compile(r"\A\.(?P<name>.+)\.[0-9a-f]{8}\.tmp\Z")   # before 0.2; only swept by name
_LOST = object()   # a sweeper took the temporary file between its creation and our lock


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
    :class:`NetStudioError` naming ``path``.  Temporary files that dead
    writers left for ``path`` are removed first.
    """
    if mode not in ("wb", "w"):
        raise NetStudioError(f"atomic_writer supports the modes 'wb' and 'w', not {mode!r}.")
    target = Path(os.path.realpath(path))
    sweep_stale_temp_files(target.parent, names=(target.name, backup_path(target).name))
    try:
        tmp, fd, lock = _create_temp(target)
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
        _unlink_quietly(tmp)
        if isinstance(err, OSError):
            raise _write_error(target, err) from None
        raise
    finally:
        if lock is not None:
            os.close(lock)
    fsync_dir(target.parent)


def backup_path(path: str | os.PathLike) -> Path:
    """Where ``atomic_writer(path, backup=True)`` keeps the previous version."""
    path = Path(path)
    return path.with_name(path.name + BACKUP_SUFFIX)


def sweep_stale_temp_files(folder: str | os.PathLike, names: Iterable[str] | None = None) -> list[Path]:
    """Remove the temporary files of dead writers from ``folder``; the paths removed.

    ``names`` limits the sweep to the temporary files of those file names
    (``["net.netstudio"]``); None sweeps every NetStudio temporary file in the
    folder.  Never raises: a folder that cannot be listed is simply skipped.
    """
    wanted = None if names is None else set(names)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    removed = []
    for entry in entries:
        match = _TEMP.match(entry.name) or (wanted is not None and _LEGACY_TEMP.match(entry.name))
        if not match or (wanted is not None and match.group("name") not in wanted):
            continue
        try:
            if _remove_if_dead(Path(entry.path)):
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def temp_path(target: Path) -> Path:
    """A fresh name for a temporary file beside ``target`` (see the module docstring)."""
    return target.with_name(f".{target.name}.netstudio-{secrets.token_hex(4)}.tmp")


def _create_temp(target: Path) -> tuple[Path, int, int | None]:
    """Create and lock a hidden, uniquely named file beside ``target``: (path, fd, lock fd or None).

    ``os.open`` with mode 0o666 lets the umask decide permissions, as for any
    new file (``mkstemp`` would force 0o600).  The lock is held on a duplicate
    descriptor so it outlives the file object and covers the rename.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = temp_path(target)
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        lock = _lock(fd)
        if lock is not _LOST:
            return tmp, fd, lock
        os.close(fd)


def _lock(fd: int):
    """A duplicate of ``fd`` holding an exclusive flock, None where locks are unavailable, or ``_LOST``."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _LOST          # a sweeper holds it and is about to delete it
    except OSError:
        return None           # no locks on this file system: sweepers go by age
    if os.fstat(fd).st_nlink == 0:
        return _LOST          # a sweeper deleted it before we locked it
    return os.dup(fd)


def _remove_if_dead(path: Path) -> bool:
    """Delete ``path`` if no live writer holds it; whether it was deleted."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        return False
    if fcntl is None:
        return _remove_if_old(path, info)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False      # a live writer
        except OSError:
            return _remove_if_old(path, info)
        now, held = os.lstat(path), os.fstat(fd)
        if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            return False      # renamed or replaced meanwhile: not the file we locked
        os.unlink(path)
        return True
    finally:
        os.close(fd)


def _remove_if_old(path: Path, info: os.stat_result) -> bool:
    if time.time() - info.st_mtime < STALE_AFTER_SECONDS:
        return False
    os.unlink(path)
    return True


def _keep_backup(target: Path) -> None:
    """Make ``<target>.bak`` refer to the current contents of ``target``.

    A sweeper may delete the staged link between its creation and the rename
    (it holds no lock: it is a second name of the target); then stage again.
    """
    bak = backup_path(target)
    for attempt in range(3):
        staged, created = temp_path(bak), False
        try:
            try:
                os.link(target, staged)
            except FileExistsError:
                continue      # not ours: leave it
            except OSError:   # no hard links here
                created = True
                shutil.copy2(target, staged)
            created = True
            os.replace(staged, bak)
            return
        except FileNotFoundError:
            if attempt == 2 or not target.exists():
                raise
        finally:
            if created:
                _unlink_quietly(staged)


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def fsync_dir(directory: Path) -> None:
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
    reason = " ".join((err.strerror or str(err) or errno.errorcode.get(err.errno or 0, "")).split()).rstrip(".")
    name = target.name if target.name.isprintable() else ascii(target.name)[1:-1]   # one line, always
    return NetStudioError(f"Could not save '{name}': {reason or 'the system gave no reason'}.")
