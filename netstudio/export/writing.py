"""Putting an export's files in place all at once, or not at all.

Every new file is written into a staging folder inside the output folder
(``.netstudio-export-XXXX/``, so moving a file out of it is a rename on the
same file system), checked there, and only then moved over the old files
with ``os.replace``; a file the new export does not have (a stale
``constants.safetensors``) is removed last.  If anything fails before the
move, the previous export stays exactly as it was and the staging folder is
removed.

A killed export cannot remove its staging folder, so each export first
removes those that no live process is writing: a live export holds an
``fcntl.flock`` on the folder's lock file, which the kernel releases when the
process dies.  Where ``fcntl`` is missing (Windows), and for a folder killed
before its lock file existed, a folder untouched for a day counts as
abandoned.

Tensors are streamed to disk one by one (:func:`write_tensors`), so no
second copy of the network is ever built in memory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import torch

from ..files.atomic import atomic_writer, fsync_dir
from ..files.tensor_io import write_safetensors
from .errors import ExportError, os_reason, shown

try:
    import fcntl
except ImportError:  # Windows: abandoned staging folders are told by their age
    fcntl = None

STAGING_PREFIX = ".netstudio-export-"
LOCK_NAME = "export.lock"
ABANDONED_AFTER_S = 24 * 3600


@contextmanager
def staging_folder(outdir: Path) -> Iterator[Path]:
    """A new staging folder in ``outdir``, locked while the block runs and removed (with whatever is
    still in it) when the block ends, however it ends."""
    try:
        folder = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=outdir))
    except OSError as err:
        raise ExportError(f"Could not write into the folder {shown(str(outdir), 200)}: {os_reason(err)}.") from None
    lock = None
    try:
        lock = _hold_lock(folder)
        yield folder
    finally:
        if lock is not None:
            os.close(lock)
        shutil.rmtree(folder, ignore_errors=True)


def _hold_lock(folder: Path) -> int | None:
    """Create the folder's lock file already locked (locked under a temporary name, then renamed), so
    another export never finds it unlocked while this one lives; without fcntl, an unlocked marker."""
    pending = folder / (LOCK_NAME + ".new")
    where = shown(str(folder.parent), 200)
    try:
        fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        raise ExportError(f"Could not write into the folder {where}: {os_reason(err)}.") from None
    try:
        if fcntl is None:
            os.close(fd)
            fd = None
        else:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(pending, folder / LOCK_NAME)
    except OSError as err:
        if fd is not None:
            os.close(fd)
        raise ExportError(f"Could not lock the export folder in {where}: {os_reason(err)}.") from None
    return fd


def remove_abandoned(outdir: Path) -> None:
    """Remove the staging folders in ``outdir`` left by exports that were killed (see the module doc).

    Best effort: a folder that cannot be inspected or removed is left alone.
    """
    try:
        entries = list(os.scandir(outdir))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False) \
                    and _abandoned(Path(entry.path)):
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            continue


def _abandoned(folder: Path) -> bool:
    if fcntl is None:
        return _untouched_for_a_day(folder)
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return _untouched_for_a_day(folder)   # killed before it locked, or not an export's
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False                         # a live export holds it
    finally:
        os.close(fd)
    return True


def _untouched_for_a_day(folder: Path) -> bool:
    try:
        return time.time() - folder.stat(follow_symlinks=False).st_mtime > ABANDONED_AFTER_S
    except OSError:
        return False


def write_tensors(tensors: Mapping[str, torch.Tensor], path: Path) -> None:
    """Stream ``tensors`` into a safetensors file at ``path``, one tensor at a time."""
    with atomic_writer(path) as f:
        write_safetensors(dict(tensors), f)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path) as f:
        f.write(data)


def install(staging: Path, outdir: Path, names: list[str], stale: list[str]) -> None:
    """Move the staged files ``names`` over those in ``outdir``, in order, then remove ``stale`` ones.

    A file that already exists keeps its permissions.  A folder in the way is found before anything moves.
    """
    for name in names:
        if (outdir / name).is_dir():
            raise ExportError(f"Could not put '{name}' in place in {shown(str(outdir), 200)}: a folder has that name.")
    try:
        for name in names:
            target = outdir / name
            if target.is_file() and not target.is_symlink():
                os.chmod(staging / name, target.stat().st_mode & 0o7777)
            os.replace(staging / name, target)
        for name in stale:
            (outdir / name).unlink(missing_ok=True)
    except OSError as err:
        raise ExportError(f"Could not put '{name}' in place in {shown(str(outdir), 200)}: {os_reason(err)}.") from None
    fsync_dir(outdir)

