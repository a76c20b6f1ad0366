"""Reading and checking a safetensors header before the safetensors library sees the file.

The header is a little-endian u64 length, then that many bytes of JSON:
``{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}}``.
Every number in it comes from the file, so each one is checked here, with a
one-sentence :class:`FileFormatError` naming what is wrong: the length against
the file size (and safetensors' own 100 MB cap), JSON nesting, every field's
type, known dtypes, ``shape`` against ``data_offsets`` (Python integers, so a
product cannot overflow), offsets inside the file and not overlapping, and
metadata that is text.  Nothing is allocated from a size before it is checked.
"""

from __future__ import annotations

import functools
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import torch

from netstudio.errors import FileFormatError
from netstudio.files.bounds import FileTooLargeError
from netstudio.files.safe_read import quoted_name, reading
from netstudio.limits import format_bytes

#: The safetensors library refuses longer headers too.
MAX_HEADER_BYTES = 100_000_000
METADATA = "__metadata__"

#: safetensors dtype codes understood by the safetensors versions NetStudio supports.
SAFETENSORS_DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
}


@dataclass(frozen=True)
class TensorSpec:
    """One tensor as the header declares it; ``start``/``end`` are relative to the data section."""

    dtype: torch.dtype
    code: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Header:
    tensors: dict[str, TensorSpec]  # in header order
    metadata: dict[str, str]

    @property
    def nbytes(self) -> int:
        return sum(spec.end - spec.start for spec in self.tensors.values())


def read_header(path: Path) -> Header:
    """The checked header of ``path``; raises :class:`FileFormatError` in one sentence.

    The JSON of the few headers read last is kept, keyed by its own bytes, so
    loading a file's tensors one by one parses its header once; the returned
    header must not be changed.
    """
    with reading(path):
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(0)
            head = f.read(8)
            if len(head) < 8:
                raise _bad(path, "it is shorter than the 8 bytes that give the header's length")
            (length,) = struct.unpack("<Q", head)
            if length > MAX_HEADER_BYTES:
                raise FileTooLargeError(
                    f"{quoted_name(path)} declares a safetensors header of {format_bytes(length)}, "
                    f"more than the {format_bytes(MAX_HEADER_BYTES)} the format allows."
                )
            if length > size - 8:
                raise _bad(path, f"its header length ({length:,} bytes) runs past the end of the file")
            raw = f.read(length)
    return _parse_cached(Path(path.name), raw, size - 8 - length)


@functools.lru_cache(maxsize=8)
def _parse_cached(name: Path, raw: bytes, data_size: int) -> Header:
    return parse_header(name, raw, data_size)


def parse_header(path: Path, raw: bytes, data_size: int) -> Header:
    """Check the JSON header ``raw`` of a file whose data section is ``data_size`` bytes."""
    try:
        header = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise _bad(path, "its header nests JSON too deeply") from None
    except (UnicodeDecodeError, ValueError):
        raise _bad(path, "its header is not valid JSON") from None
    if not isinstance(header, dict):
        raise _bad(path, "its header is not a JSON object")
    metadata = header.pop(METADATA, None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _bad(path, "its metadata is not a set of text values")
    tensors = {name: _spec(path, name, entry) for name, entry in header.items()}
    _check_layout(path, tensors, data_size)
    return Header(tensors, metadata)


def _spec(path: Path, name: str, entry: object) -> TensorSpec:
    if not isinstance(entry, dict):
        raise _bad(path, f"the entry for '{_short(name)}' is not a JSON object")
    code, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(code, str):
        raise _bad(path, f"'{_short(name)}' has no dtype")
    if not _ints(shape):
        raise _bad(path, f"the shape of '{_short(name)}' is not a list of non-negative whole numbers")
    if not _ints(offsets) or len(offsets) != 2 or offsets[0] > offsets[1]:
        raise _bad(path, f"the data_offsets of '{_short(name)}' are not a [start, end] pair")
    dtype = SAFETENSORS_DTYPES.get(code)
    if dtype is None:
        raise FileFormatError(
            f"{quoted_name(path)} holds tensors of type {_short(code)}, which NetStudio cannot read."
        )
    spec = TensorSpec(dtype, code, tuple(shape), offsets[0], offsets[1])
    if spec.numel * dtype.itemsize != spec.end - spec.start:
        raise _bad(
            path, f"the shape of '{_short(name)}' does not match its {spec.end - spec.start:,} bytes of data"
        )
    return spec


def _check_layout(path: Path, tensors: dict[str, TensorSpec], data_size: int) -> None:
    """Offsets inside the data section, not overlapping, and (as safetensors requires) without gaps."""
    previous_end, previous = 0, None
    for name, spec in sorted(tensors.items(), key=lambda item: (item[1].start, item[1].end)):
        if spec.end > data_size:
            raise _bad(path, f"the data of '{_short(name)}' runs past the end of the file")
        if spec.start < previous_end:
            raise _bad(path, f"the data of '{_short(name)}' overlaps that of '{_short(previous)}'")
        if spec.start > previous_end:
            raise _bad(path, f"there is a gap in its tensor data before '{_short(name)}'")
        previous_end, previous = spec.end, name
    if previous_end != data_size:
        raise _bad(path, f"{data_size - previous_end:,} bytes after its tensor data belong to no tensor")


def _ints(value: object) -> bool:
    return isinstance(value, list) and all(type(v) is int and v >= 0 for v in value)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bad(path: Path, reason: str) -> FileFormatError:
    return FileFormatError(f"{quoted_name(path)} is not a valid safetensors file: {reason}.")
