"""The archive form of a project file: members read with bounds, and written as streams.

An archive is a zip holding ``project.json``, ``meta.json`` and, when there
are tensors, ``weights.safetensors`` and ``unplaced.safetensors``.  NetStudio
writes every member STORED; it reads stored and deflate members (a user may
re-zip a project) and refuses the rest, because bzip2 and LZMA can inflate a
few kilobytes to gigabytes in one step that cannot be bounded.

Nothing a zip declares is trusted:

* every read ``zipfile`` makes of the file goes through :class:`_BoundedReads`,
  so a huge (or growing) table of contents is refused rather than read;
* a member whose declared size passes its bound, or that claims to inflate
  more than :data:`MAX_RATIO` to one beyond :data:`RATIO_FREE_BYTES`, is
  refused before it is opened;
* members are then read in chunks with a running count against the same bound.

Tensors are copied, with that count, to a temporary file in the system's
temporary folder (removed in ``finally``) and loaded by ``tensor_io``; nothing
is ever written beside the project.  Writing streams each tensor straight into
its zip member, so a save needs no second copy of the weights, in memory or on
disk.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

import torch

from ..errors import FileFormatError, NetStudioError, ProjectFormatError
from ..files.safe_read import CHUNK
from ..files.tensor_io import load_tensors, sniff_file, write_safetensors
from ..limits import format_bytes

PROJECT_MEMBER = "project.json"
META_MEMBER = "meta.json"
WEIGHTS_MEMBER = "weights.safetensors"
UNPLACED_MEMBER = "unplaced.safetensors"
MAX_READ = 4 << 20              # the largest single read zipfile may make: its table of contents
MAX_RATIO = 50                  # inflated : stored, for compressed members ...
RATIO_FREE_BYTES = 4 << 20      # ... that inflate to more than this
_READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_METHODS = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", zipfile.ZIP_DEFLATED: "deflate"}
_ZIP64_ABOVE = 1 << 30          # estimated member size from which the member is written as zip64


class _TooMuch(Exception):
    """zipfile asked to read more than MAX_READ at once."""


class _BoundedReads:
    """The file as zipfile sees it: every read is at most :data:`MAX_READ` bytes."""

    def __init__(self, f: BinaryIO):
        self._f = f

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            data = self._f.read(MAX_READ + 1)
            if len(data) > MAX_READ:
                raise _TooMuch()
            return data
        if n > MAX_READ:
            raise _TooMuch()
        return self._f.read(n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def seekable(self) -> bool:
        return True


class ProjectArchive:
    """An open project archive; use :func:`open_archive`."""

    def __init__(self, archive: zipfile.ZipFile, name: str):
        self._zip = archive
        self.name = name
        self._members = {info.filename: info for info in archive.infolist()}

    def project_json(self, limit: int) -> bytes:
        info = self._members.get(PROJECT_MEMBER)
        if info is None:
            raise ProjectFormatError(f"{self.name} cannot be opened: the archive holds no {PROJECT_MEMBER}.")
        what = f"the {format_bytes(limit)} a project may have"
        self._check(info, limit, what)
        parts, total = [], 0
        with self._zip.open(info) as src:
            while chunk := src.read(CHUNK):
                total += len(chunk)
                if total > limit:
                    raise self._too_large(info, None, what)
                parts.append(chunk)
        return b"".join(parts)

    def tensors(self, member: str, budget: int) -> dict[str, torch.Tensor] | None:
        """The tensors in ``member`` (tied ones shared again), None when the archive has no such member."""
        info = self._members.get(member)
        if info is None:
            return None
        what = f"the memory budget of {format_bytes(budget)}"
        self._check(info, budget, what)
        fd, tmp = tempfile.mkstemp(prefix="netstudio-", suffix=".safetensors")
        try:
            with os.fdopen(fd, "wb") as dst, self._zip.open(info) as src:
                total = 0
                while chunk := src.read(CHUNK):
                    total += len(chunk)
                    if total > budget:
                        raise self._too_large(info, None, what)
                    try:
                        dst.write(chunk)
                    except OSError as err:
                        raise FileFormatError(f"{self.name} cannot be opened: there is no room for its {member} "
                                              f"in the temporary folder ({_reason(err)}).") from None
            return self._load(Path(tmp), member)
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def _load(self, path: Path, member: str) -> dict[str, torch.Tensor]:
        damaged = ProjectFormatError(f"{self.name} cannot be opened: its {member} is damaged.")
        try:
            if sniff_file(path) != "safetensors":
                raise damaged
            loaded = load_tensors(path)
        except NetStudioError:
            raise damaged from None
        if not isinstance(loaded, dict):
            raise ProjectFormatError(f"{self.name} cannot be opened: its {member} is not a state_dict.")
        # safetensors' tensors view the mapped temporary file: copy them, once per group of tied names.
        order, groups = list(loaded), {}
        for key, tensor in loaded.items():
            groups.setdefault(id(tensor), []).append(key)
        out = {}
        for keys in groups.values():
            copy = loaded[keys[0]].clone()
            for key in keys:
                out[key] = copy
                del loaded[key]
        return {key: out[key] for key in order}

    def _check(self, info: zipfile.ZipInfo, limit: int, what: str) -> None:
        """Refuse a member by what it declares, before opening it."""
        if info.flag_bits & 0x1:
            raise ProjectFormatError(f"{self.name} cannot be opened: its {info.filename} is encrypted.")
        if info.file_size > limit:
            raise self._too_large(info, info.file_size, what)
        if info.compress_type not in _READABLE:
            method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
            raise ProjectFormatError(f"{self.name} cannot be opened: its {info.filename} uses {method} compression; "
                                     "NetStudio reads stored and deflate members only.")
        if (info.compress_type != zipfile.ZIP_STORED and info.file_size > RATIO_FREE_BYTES
                and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
            raise ProjectFormatError(
                f"{self.name} cannot be opened: its {info.filename} would inflate {format_bytes(info.compress_size)} "
                f"to {format_bytes(info.file_size)}, more than {MAX_RATIO} to 1, as only a zip bomb does.")

    def _too_large(self, info: zipfile.ZipInfo, size: int | None, what: str) -> ProjectFormatError:
        """``size`` None: found while inflating.  ``what`` completes "more than": "the 64.0 MB a project may have"."""
        amount = "inflates to" if size is None else f"would be {format_bytes(size)},"
        return ProjectFormatError(f"{self.name} cannot be opened: its {info.filename} {amount} more than {what}.")


@contextmanager
def open_archive(f: BinaryIO, name: str) -> Iterator[ProjectArchive]:
    """Open the zip in ``f``; zipfile's own errors become one sentence naming ``name``."""
    try:
        with zipfile.ZipFile(_BoundedReads(f)) as archive:
            yield ProjectArchive(archive, name)
    except _TooMuch:
        raise ProjectFormatError(f"{name} cannot be opened: its table of contents is larger than "
                                 f"{format_bytes(MAX_READ)}, far more than a project needs.") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, zlib.error, RuntimeError,
            NotImplementedError, UnicodeDecodeError, OverflowError) as err:
        raise ProjectFormatError(f"{name} cannot be opened: the archive is damaged ({_reason(err)}).") from None
    except OSError as err:
        raise FileFormatError(f"Cannot read {name}: {_reason(err)}.") from None


def write_archive(f: IO[bytes], meta: Mapping, project_json: bytes, weights: Mapping | None,
                  unplaced: Mapping | None) -> None:
    """Write the archive into ``f``: small members first, then each tensor file streamed into its member."""
    stamp = max(time.localtime(time.time())[:6], (1980, 1, 1, 0, 0, 0))   # zip cannot hold a clock set before 1980
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(_info(META_MEMBER, stamp), json.dumps(dict(meta), indent=1).encode("utf-8"))
        archive.writestr(_info(PROJECT_MEMBER, stamp), project_json)
        for member, tensors in ((WEIGHTS_MEMBER, weights), (UNPLACED_MEMBER, unplaced or None)):
            if tensors is None:
                continue
            tensors = dict(tensors)
            with archive.open(_info(member, stamp), "w", force_zip64=_estimate(tensors) > _ZIP64_ABOVE) as out:
                write_safetensors(tensors, out)


def _info(name: str, stamp: tuple) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _estimate(tensors: dict) -> int:
    return sum(t.numel() * t.element_size() for t in tensors.values() if isinstance(t, torch.Tensor))


def _reason(err: BaseException) -> str:
    text = " ".join((getattr(err, "strerror", None) or str(err) or type(err).__name__).split()).rstrip(".")
    return text if len(text) <= 120 else text[:117] + "..."
