"""The shape and dtype of a tensor flowing along an edge, known without any data."""

from __future__ import annotations

from dataclasses import dataclass

import torch

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "int32": torch.int32,
    "bool": torch.bool,
}
DTYPE_NAMES: dict[torch.dtype, str] = {v: k for k, v in DTYPES.items()}


# The dtype a Python number stands for (a float is a double, as in torch.tensor(x, dtype=torch.float64)).
NUMBER_DTYPES: dict[type, torch.dtype] = {bool: torch.bool, int: torch.int64, float: torch.float64}


@dataclass(frozen=True)
class TensorSpec:
    """What shape inference knows about one tensor: its shape and dtype.

    With ``value`` set it describes a Python number instead (``x.size(0)`` flowing
    into ``x.view(n, -1)``): shape ``()``, the number's dtype, and the value
    itself, which is what ``meta()`` then returns.
    """

    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    value: int | float | bool | None = None

    @classmethod
    def of(cls, tensor: torch.Tensor) -> "TensorSpec":
        return cls(tuple(int(s) for s in tensor.shape), tensor.dtype)

    @classmethod
    def number(cls, value: int | float | bool) -> "TensorSpec":
        """A Python number (not a tensor) with this value."""
        kind = type(value)
        if kind not in NUMBER_DTYPES:
            raise TypeError(f"a number spec holds a bool, int or float, not {kind.__name__}")
        return cls((), NUMBER_DTYPES[kind], value)

    @property
    def is_number(self) -> bool:
        return self.value is not None

    def meta(self) -> torch.Tensor | int | float | bool:
        """An allocation-free stand-in tensor on the meta device (the number itself for a number)."""
        if self.value is not None:
            return self.value
        return torch.empty(self.shape, dtype=self.dtype, device="meta")

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def dtype_name(self) -> str:
        return DTYPE_NAMES.get(self.dtype, str(self.dtype).removeprefix("torch."))

    def __str__(self) -> str:
        return format_shape(self.shape) if self.value is None else repr(self.value)


def format_shape(shape) -> str:
    """``(2, 20)``, ``(5,)`` and ``()``, the way people write shapes in Python."""
    shape = tuple(shape)
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(s) for s in shape) + ")"
