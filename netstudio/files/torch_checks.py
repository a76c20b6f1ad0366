"""Checks of a PyTorch file's declared sizes, made before ``torch.load`` reads it.

Zip files (PyTorch 1.6+): every member's declared size, its compression ratio
(PyTorch stores members uncompressed; a member that would unpack to more than
``MAX_RATIO`` times its packed size and over ``RATIO_FLOOR`` bytes is a zip
bomb), the size of ``data.pkl`` against :func:`bounds.pickle_limit`, and each
storage that ``data.pkl`` declares against the member that holds it (a larger
declaration makes a memory-mapped load read other members' bytes).  When a
member is compressed, ``torch.load`` cannot map the file (it would map the
packed bytes), so the file is read instead: everything it unpacks must fit
the memory budget, and every member must first inflate, a chunk at a time, to
bytes that match its CRC (torch's own reader gives inconsistent results on a
damaged deflate stream).

Legacy files (before 1.6): five pickles, then every storage's bytes.
``torch.load`` allocates each declared storage before reading it, so the
declared total, found by :func:`pickle_scan.scan_pickle`, must fit in what
follows the pickles and in the budget.
"""

from __future__ import annotations

import mmap
import zipfile
from pathlib import Path

import torch

from netstudio.errors import FileFormatError
from netstudio.files.bounds import (FileTooLargeError, check_budget, check_pickle_size, pickle_limit,
                                    pickle_too_large)
from netstudio.files.pickle_scan import Global, NotWeightsOnly, ScanError, ScanTooLong, scan_pickle
from netstudio.files.safe_read import quoted_name
from netstudio.limits import format_bytes

MAX_RATIO = 100
RATIO_FLOOR = 1 << 20
# torch's legacy format starts with these two pickled numbers.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PICKLES = 5
_STORAGE_SIZE_FIELD = 8  # each legacy storage's bytes are preceded by its element count


def corrupt(path: Path) -> FileFormatError:
    return FileFormatError(f"{quoted_name(path)} is not a valid PyTorch file; it may be truncated or corrupt.")


# ---------------------------------------------------------------- zip


def check_torch_zip(path: Path) -> bool:
    """Refuse what a zip declares beyond its means; True when it can be memory-mapped."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            members = _check_members(path, infos)
            prefix = infos[0].filename.split("/", 1)[0]
            if f"{prefix}/constants.pkl" in members:  # TorchScript: torch.load refuses it before reading more
                return True
            pickle_info = members.get(f"{prefix}/data.pkl")
            if pickle_info is None:
                raise corrupt(path)
            check_pickle_size(path, pickle_info.file_size)
            mappable = all(info.compress_type == zipfile.ZIP_STORED for info in infos)
            if not mappable:
                check_budget(path, sum(info.file_size for info in infos), "its unpacked contents")
                if archive.testzip() is not None:  # inflated a chunk at a time, each checked against its CRC
                    raise corrupt(path)
            data = archive.read(pickle_info)
    except FileFormatError:
        raise
    except Exception:  # zipfile and zlib raise assorted errors on damaged bytes
        raise corrupt(path) from None
    for key, nbytes in _declared_storages(path, data, 0, legacy=False).items():
        record = members.get(f"{prefix}/data/{key}")
        if record is None or nbytes > record.file_size:
            raise FileFormatError(
                f"{quoted_name(path)} declares {format_bytes(nbytes)} for a tensor whose data holds "
                f"{format_bytes(record.file_size if record else 0)}, so it is damaged."
            )
    return mappable


def _check_members(path: Path, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    if not infos:
        raise corrupt(path)
    size = path.stat().st_size
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if info.filename in members or info.compress_size > size or info.flag_bits & 0x1:
            raise corrupt(path)  # duplicate names, sizes beyond the file, encryption
        members[info.filename] = info
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                raise corrupt(path)
        elif info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * info.compress_size:
            raise FileTooLargeError(
                f"{quoted_name(path)} has a member packed {info.file_size / max(info.compress_size, 1):,.0f} to 1 "
                f"that would unpack to {format_bytes(info.file_size)}, so NetStudio treats it as a zip bomb."
            )
    return members


# ---------------------------------------------------------------- legacy


def check_torch_legacy(path: Path) -> None:
    """Refuse a legacy file whose declared storages exceed what follows its pickles, or the budget."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            if size == 0:
                return
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                try:
                    first = _scan(path, data, 0, pickle_limit())
                except NotWeightsOnly:
                    return  # torch.load refuses this opcode before allocating anything
                if first.value != LEGACY_MAGIC:
                    return  # a plain pickle, not torch's format: torch.load refuses it after this bounded scan
                _declared_storages(path, data, first.end, legacy=True, pickles=LEGACY_PICKLES - 1, used=first.end)
    except OSError as err:
        raise FileFormatError(f"{quoted_name(path)} cannot be read: {(err.strerror or str(err)).rstrip('.')}.") from None


def _declared_storages(path: Path, data, pos: int, legacy: bool, pickles: int = 1, used: int = 0) -> dict:
    """Bytes declared per storage key by ``pickles`` pickles from ``pos`` (``used`` bytes of pickle
    already read); for a legacy file also checked against the bytes after the pickles and the budget."""
    declared: dict[object, int] = {}
    storages: list[tuple] = []
    try:
        for _ in range(pickles):
            end = _scan(path, data, pos, pickle_limit() - used, storages).end
            used += end - pos
            pos = end
    except NotWeightsOnly:
        end = len(data)  # torch stops at this opcode, after allocating what was declared before it
    _add_storages(path, storages, 6 if legacy else 5, declared)
    if legacy:
        total = sum(declared.values()) + _STORAGE_SIZE_FIELD * len(declared)
        if total > len(data) - end:
            raise FileFormatError(
                f"{quoted_name(path)} declares {format_bytes(total)} of tensor data but holds only "
                f"{format_bytes(len(data) - end)} after its pickles, so it is damaged."
            )
        check_budget(path, total, "its tensors")
    return declared


def _scan(path: Path, data, pos: int, limit: int, storages: list | None = None):
    try:
        return scan_pickle(data, pos, max(limit, 0), storages)
    except ScanTooLong:
        raise pickle_too_large(path, pickle_limit() + 1) from None
    except ScanError:
        raise corrupt(path) from None


def _add_storages(path: Path, ids: list[tuple], id_length: int, declared: dict) -> None:
    """Record each id's bytes under its key (the first declaration wins, as in torch); ids are
    ``("storage", type, key, location, numel)``, and a legacy one adds view metadata."""
    for pid in ids:
        if len(pid) != id_length:
            raise corrupt(path)
        _, storage_type, key, _location, numel = pid[:5]
        size = _element_size(storage_type)
        if type(numel) is not int or numel < 0 or not isinstance(key, (str, bytes, int)):
            raise corrupt(path)
        if size is not None and key not in declared:
            declared[key] = numel * size


def _element_size(storage_type: object) -> int | None:
    """Bytes per element of a pickled storage class; None when torch would not know it either."""
    if not isinstance(storage_type, Global):
        return None
    if storage_type.name == "UntypedStorage":
        return 1
    try:
        return torch._utils._element_size(torch.serialization.StorageType(storage_type.name).dtype)
    except Exception:  # an unknown name: torch.load fails on it before allocating
        return None
