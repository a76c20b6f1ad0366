"""Direct edits of parameter values, recorded as data so a project can replay them.

The seed writes ``net[0].weight.data[0, 0] = 42`` or ``net[0].weight.data[:] += 1``;
a :class:`DirectEdit` is the same change as a value: which tensor (any
``state_dict`` name, tied aliases included), which operation, which value and,
optionally, which index (a whole-tensor edit when ``index`` is None).

Edits are read from project files, so the name is looked up in the module
dicts only (:func:`netstudio.params.net_index.tensor_at`), never with ``getattr``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch
from torch import nn
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

from netstudio.errors import NetStudioError
from netstudio.params.net_index import brief, listing, quote, tensor_at

EditOp = Literal["set", "add", "mul", "fill"]
EDIT_OPS: tuple[str, ...] = get_args(EditOp)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    """A real number a float can hold: ``10**400`` from a file is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclass(frozen=True)
class DirectEdit:
    """``set`` one element (full index), ``add``/``mul``/``fill`` the whole tensor or an indexed part."""

    name: str
    op: EditOp
    value: float
    index: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise NetStudioError("A direct edit needs the name of a parameter or buffer.")
        if not isinstance(self.op, str) or self.op not in EDIT_OPS:
            raise NetStudioError(f"Unknown edit operation {quote(self.op)}; use one of {', '.join(EDIT_OPS)}.")
        if not _is_finite(self.value):
            raise NetStudioError(f"The value of an edit to {quote(self.name)} must be a finite number.")
        object.__setattr__(self, "value", float(self.value))
        if self.index is not None:
            if not isinstance(self.index, (tuple, list)) or not all(_is_int(i) for i in self.index):
                raise NetStudioError(f"The index of an edit to {quote(self.name)} must be a list of whole numbers.")
            object.__setattr__(self, "index", tuple(self.index))
        if self.op == "set" and self.index is None:
            raise NetStudioError(
                f"Setting one element of {quote(self.name)} needs its index; use 'fill' for the whole tensor."
            )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "op": self.op, "value": self.value}
        if self.index is not None:
            data["index"] = list(self.index)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DirectEdit:
        if not isinstance(data, Mapping) or not {"name", "op", "value"} <= data.keys():
            raise NetStudioError("A direct edit needs 'name', 'op' and 'value'.")
        unknown = set(data) - {"name", "op", "value", "index"}
        if unknown:
            raise NetStudioError(f"A direct edit has unknown fields: {listing(unknown)}.")
        return cls(data["name"], data["op"], data["value"], data.get("index"))

    def apply(self, module: nn.Module) -> None:
        """Change the tensor in place, outside autograd, as ``.data`` edits do."""
        self.apply_to(find_tensor(module, self.name))

    def apply_to(self, tensor: torch.Tensor) -> None:
        """As :meth:`apply`, on the tensor already found at ``name``."""
        if isinstance(tensor, (UninitializedParameter, UninitializedBuffer)):
            raise NetStudioError(f"{quote(self.name)} is not initialized yet; run a forward pass before editing it.")
        self._check_index(tensor)
        if tensor.dtype.is_floating_point and abs(self.value) > torch.finfo(tensor.dtype).max:
            raise self._unfit(tensor)   # mul_ would quietly make inf (and 0 * inf = nan) of every value
        with torch.no_grad():
            target = tensor if self.index is None else tensor[self.index]
            try:
                if self.op == "add":
                    target.add_(self.value)
                elif self.op == "mul":
                    target.mul_(self.value)
                else:
                    target.fill_(self.value)
            except RuntimeError as exc:
                raise self._unfit(tensor) from exc

    def _unfit(self, tensor: torch.Tensor) -> NetStudioError:
        dtype = str(tensor.dtype).removeprefix("torch.")
        return NetStudioError(
            f"Cannot apply '{self.op}' with {self.value:g} to {quote(self.name)}, which holds {dtype} values."
        )

    def _check_index(self, tensor: torch.Tensor) -> None:
        if self.index is None:
            return
        shape = tuple(tensor.shape)
        if self.op == "set" and len(self.index) != len(shape):
            raise NetStudioError(
                f"Setting one element of {quote(self.name)} of shape {shape} "
                f"needs {len(shape)} indices, not {len(self.index)}."
            )
        if len(self.index) > len(shape) or any(not -n <= i < n for i, n in zip(self.index, shape)):
            raise NetStudioError(
                f"Index {brief(list(self.index))} is out of range for {quote(self.name)} of shape {shape}."
            )


def find_tensor(module: nn.Module, name: str) -> torch.Tensor:
    """The parameter or buffer at a dotted ``state_dict`` name (aliases included)."""
    tensor = tensor_at(module, name) if isinstance(name, str) else None
    if tensor is None:
        raise NetStudioError(f"The network has no parameter or buffer named {quote(name)}.")
    return tensor


def apply_edits(module: nn.Module, edits: Iterable[DirectEdit]) -> None:
    """Replay recorded edits in order."""
    for edit in edits:
        edit.apply(module)
