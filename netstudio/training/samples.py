"""The training data: tensors ``x`` and ``y`` with samples along dim 0, read lazily.

A safetensors file is memory-mapped, not loaded (:mod:`mapped`): each
tensor is viewed as rows of bytes on the mapping, so a batch reads only its
own rows and a file larger than memory trains.  Rows are gathered as bytes (any alignment, any dtype) and only the
batch is reinterpreted, which is one ``index_select`` per tensor per step;
``safe_open``'s slices cost a call per row, far too slow for shuffled batches.
A ``.pt`` file goes through the weights-only loader (memory-mapped where
torch allows), so pickled code is refused.
"""

from __future__ import annotations

from pathlib import Path

import torch

from netstudio.errors import FileFormatError
from netstudio.files.safe_read import quoted_name
from netstudio.files.tensor_io import sniff_file, torch_load_weights_only
from netstudio.training.mapped import MappedFile

NAMES = ("x", "y")


class Rows:
    """One tensor's samples: ``take(indices)`` is a fresh, contiguous batch."""

    def __init__(self, data: torch.Tensor, dtype: torch.dtype | None = None, shape: tuple[int, ...] = ()):
        self._data, self._dtype, self._shape = data, dtype, shape   # dtype None: ``data`` is the tensor itself

    def __len__(self) -> int:
        return self._data.shape[0]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape[1:]) if self._dtype is None else self._shape

    @property
    def dtype(self) -> torch.dtype:
        return self._data.dtype if self._dtype is None else self._dtype

    def take(self, indices: torch.Tensor) -> torch.Tensor:
        batch = self._data.index_select(0, indices)
        if self._dtype is None:
            return batch
        return batch.view(self._dtype).reshape(len(indices), *self._shape)


class Samples:
    """``x`` and ``y`` of one file, checked to hold the same number of samples."""

    def __init__(self, path: str, x: Rows, y: Rows):
        self.path, self.x, self.y = path, x, y

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x.take(indices), self.y.take(indices)


def open_samples(path: str) -> Samples:
    """The samples of ``path``, or a one-sentence :class:`FileFormatError`."""
    p = Path(path)
    rows = _mapped_rows(p) if sniff_file(p) == "safetensors" else _loaded_rows(p)
    missing = [name for name in NAMES if name not in rows]
    if missing:
        raise FileFormatError(f"{quoted_name(p)} has no tensor {' or '.join(map(repr, missing))}; "
                              "the data must hold 'x' (inputs) and 'y' (targets).")
    x, y = rows["x"], rows["y"]
    if len(x) != len(y):
        raise FileFormatError(f"{quoted_name(p)} holds {len(x)} samples in 'x' but {len(y)} in 'y'.")
    if len(x) == 0:
        raise FileFormatError(f"{quoted_name(p)} holds no samples.")
    return Samples(str(p), x, y)


def _mapped_rows(path: Path) -> dict[str, Rows]:
    mapped = MappedFile(path)
    rows = {}
    for name in NAMES:
        spec = mapped.specs.get(name)
        if spec is None:
            continue
        if not spec.shape:
            raise FileFormatError(f"{quoted_name(path)}: '{name}' is a single number; samples go along dim 0.")
        rows[name] = Rows(mapped.rows(name), spec.dtype, spec.shape[1:])
    return rows


def _loaded_rows(path: Path) -> dict[str, Rows]:
    loaded = torch_load_weights_only(path)
    if not isinstance(loaded, dict):
        raise FileFormatError(f"{quoted_name(path)} holds a {type(loaded).__name__}, not a dict with 'x' and 'y'.")
    rows = {}
    for name in NAMES:
        value = loaded.get(name)
        if value is None:
            continue
        if not isinstance(value, torch.Tensor) or value.layout != torch.strided or value.dim() == 0:
            raise FileFormatError(f"{quoted_name(path)}: '{name}' is not a tensor with samples along dim 0.")
        rows[name] = Rows(value)
    return rows
