"""Loading and saving tensors: safetensors (recommended) and PyTorch files.

``save_tensors`` writes a tensor, a list/tuple of tensors or a dict of named
tensors; ``load_tensors`` gives back the same structure.  The format follows
the suffix: ``.pt``/``.pth`` use ``torch.save``; anything else is written as
safetensors, which holds only raw tensor data and so can never run code.

Safetensors stores a flat, unordered set of named tensors, so NetStudio adds
one metadata entry, ``"netstudio"``: JSON ``{"kind", "names", "aliases"}``
giving the container kind (tensor/list/tuple/dict), the original order, and
names that were the very same tensor (same storage, offset, shape, stride and
dtype) when saved.  Such aliases are written once and come back as one tensor
object, so tied weights stay tied.  Files without that entry load as a dict in
file order.

Reading never unpickles arbitrary objects: torch files are recognised by their
first bytes, whatever their suffix (zip ``PK\\x03\\x04`` or a legacy pickle),
and always go through ``torch.load(weights_only=True)``; a file that needs
more is refused with :class:`UnsafeFileError`.  Nothing a file declares is
allocated before it is checked: safetensors headers by
:mod:`safetensors_header`, torch files' members, pickles and storages by
:mod:`torch_checks`, all against what the file holds and the memory budget
(:class:`bounds.FileTooLargeError`).  ``checkpoint`` and ``weights_import``
read files through the helpers here.
"""

from __future__ import annotations

import io
import json
import mmap
import os
import pickle
import pickletools
import re
import stat
import struct
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import torch
from safetensors import SafetensorError, safe_open

from netstudio.errors import FileFormatError, NetStudioError, UnsafeFileError
from netstudio.files.atomic import atomic_writer
from netstudio.files.bounds import check_budget
from netstudio.files.safe_read import quoted_name, reading
from netstudio.files.safetensors_header import SAFETENSORS_DTYPES, read_header
from netstudio.files.torch_checks import check_torch_legacy, check_torch_zip, corrupt
from netstudio.limits import format_bytes, memory_budget

TensorContainer = torch.Tensor | list[torch.Tensor] | tuple[torch.Tensor, ...] | dict[str, torch.Tensor]
FileKind = Literal["safetensors", "torch-zip", "torch-legacy"]

TORCH_SUFFIXES = (".pt", ".pth")
METADATA_KEY = "netstudio"
SINGLE_TENSOR_NAME = "tensor"

_DTYPE_CODES = {dtype: code for code, dtype in SAFETENSORS_DTYPES.items()}

# Substrings of torch's weights_only refusals that mean "this needs code",
# as opposed to bytes that are simply damaged.
_NEEDS_CODE = re.compile(r"GLOBAL|Can only (create|build)|call reduce")
# torch's legacy format: magic number, protocol, sys info, object, storage keys.
_LEGACY_PICKLES = 5


# ---------------------------------------------------------------- saving


def save_tensors(obj: TensorContainer, path: str | os.PathLike, *, backup: bool = False) -> None:
    """Write ``obj`` atomically; ``.pt``/``.pth`` use torch.save, anything else safetensors."""
    kind, named = _flatten_container(obj)
    path = Path(path)
    if path.suffix.lower() in TORCH_SUFFIXES:
        with atomic_writer(path, backup=backup) as f:
            torch.save(obj, f)
        return
    write = _safetensors_writer(kind, named)
    with atomic_writer(path, backup=backup) as f:
        write(f)


def write_safetensors(obj: TensorContainer, f: IO[bytes]) -> None:
    """Stream ``obj`` as safetensors into an open binary file (a zip member, say), tensor by tensor,
    so no second copy of the whole file is ever held in memory."""
    _safetensors_writer(*_flatten_container(obj))(f)


def _safetensors_writer(kind: str, named: list[tuple[str, torch.Tensor]]):
    """Check everything first (nothing is written for a tensor safetensors cannot hold), then write."""
    tensors, aliases = _dedupe_aliases(named)
    for name, t in tensors:
        _check_storable(name, t)
    layout = {"kind": kind, "names": [name for name, _ in named], "aliases": aliases}
    # "format": "pt" as safetensors.torch writes it: some readers (transformers) insist on it.
    return lambda f: _write_safetensors(f, tensors, {"format": "pt", METADATA_KEY: json.dumps(layout)})


def _flatten_container(obj: TensorContainer) -> tuple[str, list[tuple[str, torch.Tensor]]]:
    if isinstance(obj, torch.Tensor):
        kind, named = "tensor", [(SINGLE_TENSOR_NAME, obj)]
    elif isinstance(obj, (list, tuple)):
        kind, named = type(obj).__name__, [(str(i), t) for i, t in enumerate(obj)]
    elif isinstance(obj, dict):
        kind, named = "dict", list(obj.items())
    else:
        raise NetStudioError(
            f"Only a tensor, a list of tensors or a dict of tensors can be saved, not a {type(obj).__name__}."
        )
    for name, t in named:
        if not isinstance(name, str) or name == "__metadata__":
            raise NetStudioError(f"Tensor names must be strings other than '__metadata__', not {name!r}.")
        if not isinstance(t, torch.Tensor):
            raise NetStudioError(f"Only tensors can be saved, but '{name}' is a {type(t).__name__}.")
    return kind, named


def _dedupe_aliases(named: list[tuple[str, torch.Tensor]]) -> tuple[list[tuple[str, torch.Tensor]], dict[str, str]]:
    """Keep the first of each group of identical views; map the others to it."""
    first: dict[tuple, str] = {}
    kept, aliases = [], {}
    for name, t in named:
        key = alias_key(t)
        if key is not None and key in first:
            aliases[name] = first[key]
            continue
        if key is not None:
            first[key] = name
        kept.append((name, t))
    return kept, aliases


def alias_key(t: torch.Tensor) -> tuple | None:
    """Identity of the memory a tensor views; equal keys mean the same tensor data."""
    if t.numel() == 0 or t.layout != torch.strided or t.device.type == "meta" or t.is_nested:
        return None
    storage = t.untyped_storage()
    return (t.device, storage.data_ptr(), t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)


def _check_storable(name: str, t: torch.Tensor) -> None:
    """Refuse, before anything is written, what safetensors cannot hold, and a tensor whose
    contiguous CPU copy (an expanded view: every element is stored) exceeds the memory budget."""
    if (t.dtype not in _DTYPE_CODES or t.layout != torch.strided or t.is_quantized or t.device.type == "meta"
            or t.is_nested):
        kind = "nested" if t.is_nested else t.layout
        raise NetStudioError(
            f"'{name}' ({t.dtype}, {kind}) cannot be stored in a safetensors file; save as .pt instead."
        )
    nbytes = t.numel() * t.element_size()
    if (t.device.type != "cpu" or not t.is_contiguous()) and nbytes > memory_budget():
        raise NetStudioError(
            f"'{name}' would take {format_bytes(nbytes)} in a safetensors file, more than the memory budget "
            f"of {format_bytes(memory_budget())}; save as .pt instead."
        )


def _write_safetensors(f: IO[bytes], tensors: list[tuple[str, torch.Tensor]], metadata: dict[str, str]) -> None:
    """Stream a safetensors file: u64 header length, JSON header, tensor bytes.

    Tensors are laid out by falling element size so each one starts aligned
    to its element size (the format allows no gaps between tensors).  Each
    tensor is copied to the CPU only while it is written, so a GPU model
    never needs a second full copy in host memory.
    """
    tensors = sorted(tensors, key=lambda item: -item[1].element_size())
    header: dict[str, object] = {"__metadata__": metadata}
    offset = 0
    for name, t in tensors:
        nbytes = t.numel() * t.element_size()
        header[name] = {
            "dtype": _DTYPE_CODES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    f.write(struct.pack("<Q", len(encoded)))
    f.write(encoded)
    for _, t in tensors:
        data = t.detach().cpu().contiguous()
        f.write(memoryview(data.reshape(-1).view(torch.uint8).numpy()))


# ---------------------------------------------------------------- loading


def load_tensors(path: str | os.PathLike) -> object:
    """Read a file written by :func:`save_tensors`, ``torch.save`` or any safetensors writer."""
    path = Path(path)
    if sniff_file(path) != "safetensors":
        return torch_load_weights_only(path)
    check_budget(path, read_header(path).nbytes, "its tensors")
    with open_safetensors(path) as f:
        tensors = {name: f.get_tensor(name) for name in f.offset_keys()}
        layout = read_layout(path, f.metadata(), list(tensors))
    if layout is None:
        return tensors
    for alias, target in layout.aliases.items():
        tensors[alias] = tensors[target]
    values = [tensors[name] for name in layout.names]
    if layout.kind == "tensor":
        return values[0]
    if layout.kind == "dict":
        return dict(zip(layout.names, values))
    return values if layout.kind == "list" else tuple(values)


@dataclass(frozen=True)
class Layout:
    """NetStudio's container description stored in a safetensors header (see module docstring)."""

    kind: Literal["tensor", "list", "tuple", "dict"]
    names: list[str]
    aliases: dict[str, str]  # alias name -> name of the tensor actually stored


def read_layout(path: Path, metadata: dict[str, str] | None, stored: list[str]) -> Layout | None:
    """The :class:`Layout` in a safetensors header, ``None`` if it has none.

    ``stored`` are the tensor names actually in the file; a layout naming
    anything else is damaged.
    """
    raw = (metadata or {}).get(METADATA_KEY)
    if raw is None:
        return None
    try:
        spec = json.loads(raw)
        layout = Layout(spec["kind"], list(spec["names"]), dict(spec["aliases"]))
    except (ValueError, KeyError, TypeError):
        layout = None
    if (
        layout is None
        or layout.kind not in ("tensor", "list", "tuple", "dict")
        or (layout.kind == "tensor" and len(layout.names) != 1)
        or set(layout.names) != set(stored) | set(layout.aliases)
        or not set(layout.aliases.values()) <= set(stored)
    ):
        raise FileFormatError(f"{quoted_name(path)} has damaged NetStudio metadata.")
    return layout


def sniff_file(path: Path) -> FileKind:
    """Tell the format from the first bytes (torch) or the suffix (safetensors)."""
    with reading(path):
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError
        if not stat.S_ISREG(mode):   # a FIFO would block, a device would never end
            raise FileFormatError(f"{quoted_name(path)} is not a regular file.")
        with open(path, "rb") as f:
            head = f.read(9)
    if head.startswith(b"PK\x03\x04"):
        return "torch-zip"
    # A safetensors header whose length happens to start 80 02..05 looks like a pickle's first bytes:
    # the "{" of its JSON header decides, before the pickle test.
    if head[8:9] == b"{" and path.suffix.lower() == ".safetensors":
        return "safetensors"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "torch-legacy"
    if path.suffix.lower() == ".safetensors" or head[8:9] == b"{":
        return "safetensors"
    if not head:
        raise FileFormatError(f"{quoted_name(path)} is empty.")
    if path.suffix.lower() in TORCH_SUFFIXES:
        raise FileFormatError(f"{quoted_name(path)} is not a valid PyTorch file; it may be truncated or corrupt.")
    raise FileFormatError(f"{quoted_name(path)} is neither a safetensors nor a PyTorch file.")


def torch_load_weights_only(path: Path) -> object:
    """``torch.load`` that can only build tensors and plain containers, never run code.

    First the sizes the file declares are checked (:mod:`torch_checks`), so
    nothing it declares is allocated beyond its means or the memory budget.
    Zip files are memory-mapped, so tensors are read from disk only when used
    (unless a member is compressed); legacy (pre-1.6) files cannot be mapped and
    are read whole.  torch's warnings (e.g. about pickle protocols) are for
    developers and are silenced.  Sparse tensors' indices are checked (torch
    skips that by default).  A refusal by the weights-only unpickler means
    "needs code" when torch names a forbidden global or the pickle itself is
    well formed, else damaged bytes.
    """
    kind = sniff_file(path)
    if kind == "torch-zip":
        mappable = check_torch_zip(path)
    else:
        check_torch_legacy(path)
        mappable = False
    # torch queues every sparse tensor it unpickles and checks the queue when a load ends; a load that
    # fails midway leaves its tensors queued, and the next load (of a good file) would fail on them.
    pending = getattr(torch._utils, "_sparse_tensors_to_validate", [])
    pending.clear()
    try:
        # torch checks sparse tensors' indices only when asked; unchecked, one out of range reads
        # (or writes) outside the tensor's memory when it is used.
        with warnings.catch_warnings(), torch.sparse.check_sparse_tensor_invariants(True):
            warnings.simplefilter("ignore")
            return _torch_load(path, kind, mappable)
    except pickle.UnpicklingError as err:
        if _NEEDS_CODE.search(str(err)) or _pickles_are_well_formed(path, kind):
            raise UnsafeFileError(
                f"{quoted_name(path)} contains pickled Python objects that could run code, so NetStudio will not load it."
            ) from None
        raise _corrupt_torch_file(path) from None
    except OSError as err:
        raise FileFormatError(f"{quoted_name(path)} cannot be read: {(err.strerror or str(err)).rstrip('.')}.") from None
    except RuntimeError as err:
        if "TorchScript" in str(err):
            raise UnsafeFileError(
                f"{quoted_name(path)} is a TorchScript program rather than plain weights, so NetStudio will not load it."
            ) from None
        raise _corrupt_torch_file(path) from None
    except Exception:  # any other failure of the unpickler or zip reader means damaged bytes
        raise _corrupt_torch_file(path) from None
    finally:
        pending.clear()  # and no tensor of a refused file stays alive there


def _torch_load(path: Path, kind: FileKind, mappable: bool) -> object:
    # torch.load hands any path ending in .safetensors to safetensors, so such
    # (misnamed) torch files go in as an open file, which cannot be mapped.
    if kind == "torch-zip" and mappable and path.suffix.lower() != ".safetensors":
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    with open(path, "rb") as f:
        return torch.load(f, map_location="cpu", weights_only=True)


def _pickles_are_well_formed(path: Path, kind: FileKind) -> bool:
    """Whether the file's pickle streams parse, opcode by opcode, without running anything.

    A zip holds one (``*/data.pkl``); a legacy file is up to five pickles in a
    row followed by raw storage bytes; a plain pickle is one stream.
    """
    try:
        if kind == "torch-zip":  # data.pkl's size was checked before torch.load
            with zipfile.ZipFile(path) as archive:
                name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
                return _parse_pickles(io.BytesIO(archive.read(name)), 1)
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return _parse_pickles(mapped, _LEGACY_PICKLES)  # a mapped file never reads past its end
    except Exception:  # genops and zipfile raise assorted errors on damaged bytes
        return False


def _parse_pickles(stream: IO[bytes], count: int) -> bool:
    stream.seek(0, os.SEEK_END)
    end = stream.tell()  # (mmap.seek returns None before Python 3.13)
    stream.seek(0)
    for _ in range(count):
        if stream.tell() == end:
            break
        for _ in pickletools.genops(stream):
            pass
    return True


def _corrupt_torch_file(path: Path) -> FileFormatError:
    return corrupt(path)


@contextmanager
def open_safetensors(path: Path) -> Iterator:
    """``safe_open`` after :func:`read_header` has checked the header; errors, while opening or
    reading, become :class:`FileFormatError`."""
    read_header(path)
    try:
        with safe_open(path, framework="pt") as f:
            yield f
    except FileNotFoundError:
        raise FileFormatError(f"{quoted_name(path)} does not exist.") from None
    except (SafetensorError, OSError, ValueError) as err:
        reason = " ".join(str(err).split(":")[-1].split()).rstrip(".")
        raise FileFormatError(f"{quoted_name(path)} is not a valid safetensors file ({reason}).") from None
