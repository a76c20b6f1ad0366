"""A safetensors file memory-mapped read-only, its tensors as views on the mapping (no copies).

The header is checked first (:func:`read_header`); a tensor is then a slice
of the mapped bytes, so only the pages a computation touches are read, and
files larger than memory work.  ``rows`` views a tensor as one row of bytes
per sample (any alignment); ``tensor`` reinterprets the bytes, copying only
a tensor that a foreign writer left misaligned for its dtype.
"""

from __future__ import annotations

import mmap
import struct
import warnings
from pathlib import Path

import torch

from netstudio.errors import FileFormatError
from netstudio.files.safe_read import open_regular_file, quoted_name
from netstudio.files.safetensors_header import TensorSpec, read_header


class MappedFile:
    def __init__(self, path: Path):
        self.path = path
        self.specs: dict[str, TensorSpec] = read_header(path).tensors
        with open_regular_file(path) as f:
            try:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as err:
                raise FileFormatError(f"{quoted_name(path)} cannot be mapped into memory: {err}.") from None
        if len(mapped) < 8:
            raise FileFormatError(f"{quoted_name(path)} changed while it was opened.")
        self._data_start = 8 + struct.unpack("<Q", mapped[:8])[0]
        with warnings.catch_warnings():   # read-only on purpose: nothing writes into the file's tensors
            warnings.simplefilter("ignore")
            self._bytes = torch.frombuffer(mapped, dtype=torch.uint8)

    def raw(self, name: str) -> torch.Tensor:
        """The bytes of tensor ``name``, flat."""
        spec = self.specs[name]
        start, end = self._data_start + spec.start, self._data_start + spec.end
        if end > len(self._bytes):
            raise FileFormatError(f"{quoted_name(self.path)} changed while it was opened.")
        return self._bytes[start:end]

    def rows(self, name: str) -> torch.Tensor:
        """Tensor ``name`` as ``(shape[0], bytes per row)`` uint8."""
        spec = self.specs[name]
        raw = self.raw(name)
        return raw.view(spec.shape[0], len(raw) // spec.shape[0] if spec.shape[0] else 0)

    def tensor(self, name: str) -> torch.Tensor:
        spec = self.specs[name]
        raw = self.raw(name)
        if raw.data_ptr() % spec.dtype.itemsize:
            raw = raw.clone()
        return raw.view(spec.dtype).view(spec.shape)
