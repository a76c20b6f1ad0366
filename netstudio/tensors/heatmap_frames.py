"""What the heatmap shows for a tensor: a *frame*, made from private copies.

A frame is what one picture shows: the tensor on show (the values, the
gradient, or the change since the last step, per ``mode``) laid out and
reduced by :func:`~netstudio.tensors.view2d.heatmap_view`, or, when there is
nothing to draw, one sentence saying why.  The hover readout reads the same
frame, so picture, readout and statistics always agree.

Frames are made in any thread (:mod:`netstudio.tensors.frame_capture` takes
the copies); nothing here touches a widget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from netstudio.errors import NetStudioError
from netstudio.tensors.number_text import format_value, number
from netstudio.tensors.view2d import HeatmapView, element_at, heatmap_view

MAX_SHAPE = (1024, 1024)   # pixels a view may have; larger tensors are reduced to this


class TensorSource(Protocol):
    """A tensor someone picked (the app's ``TensorRef``): in the live network, or in a file."""

    name: str
    source: str
    value: Callable[[], torch.Tensor | None]
    grad: Callable[[], torch.Tensor | None] | None

    @property
    def live(self) -> bool: ...


@dataclass(frozen=True, eq=False)
class Frame:
    """What one picture shows: a private tensor (None with a ``message``) and its 2-D view."""

    generation: int
    ref: TensorSource
    mode: str
    tensor: torch.Tensor | None
    view: HeatmapView | None
    message: str = ""
    slice_index: tuple[int, ...] | None = None
    shape: tuple[int, ...] | None = None   # of the tensor shown, also when ``tensor`` is not copied yet
    dtype: str | None = None

    def __post_init__(self) -> None:
        if self.tensor is not None:
            object.__setattr__(self, "shape", tuple(self.tensor.shape))
            object.__setattr__(self, "dtype", str(self.tensor.dtype))

    def resliced(self, generation: int, slice_index: tuple[int, ...] | None) -> Frame:
        """The same tensor at other leading indices (a 3-d or 5-d+ tensor); NetStudioError if they do not fit."""
        view = heatmap_view(self.tensor, MAX_SHAPE, slice_index)
        return Frame(generation, self.ref, self.mode, self.tensor, view, "", slice_index)


def make_frame(generation: int, ref: TensorSource, mode: str, value: torch.Tensor | None,
               grad: torch.Tensor | None, previous: torch.Tensor | None, slice_index: tuple[int, ...] | None,
               message: str = "") -> Frame:
    """The frame for ``mode`` ("weights", "gradient" or "change") from copies already taken: the value,
    its gradient and the value before the latest step.  A slice index that no longer fits falls back
    to the first slice."""
    shown = None
    if not message:
        shown, message = _shown(ref, mode, value, grad, previous)
    view = None
    if shown is not None:
        try:
            view = heatmap_view(shown, MAX_SHAPE, slice_index)
        except NetStudioError as err:
            try:
                view, slice_index = heatmap_view(shown, MAX_SHAPE), None
            except NetStudioError:
                shown, message = None, str(err)
    return Frame(generation, ref, mode, shown, view, message, slice_index)


def _shown(ref: TensorSource, mode: str, value, grad, previous) -> tuple[torch.Tensor | None, str]:
    """(the tensor ``mode`` shows, "") or (None, why there is none)."""
    if value is None:
        return None, (f"'{ref.name}' is deferred: its shape is set by the first forward run." if ref.live
                      else f"'{ref.name}' has no value.")
    if mode == "weights":
        return value, ""
    if mode == "gradient":
        if ref.grad is None:
            return None, "Tensors in a file have no gradient; pick a network parameter."
        if grad is None:
            return None, "No gradient yet: run a backward pass or a training step."
        return grad, ""
    if mode == "change":
        if not ref.live:
            return None, "Tensors in a file do not change; pick a network parameter."
        if previous is None or previous.shape != value.shape:
            return None, "No step yet: the change shows after the next run or training step."
        return (value - previous if value.is_floating_point() else value.double() - previous.double()), ""
    raise ValueError(f"unknown heatmap mode {mode!r}")


def hover_text(frame: Frame | None, x: float, y: float) -> str:
    """What the readout says at point ``(x, y)`` of the picture, in displayed pixels (x: column):
    the tensor index and exact value there; "" off the picture or before the snapshot is taken."""
    if frame is None or frame.view is None or frame.tensor is None:
        return ""
    rows, cols = frame.view.values.shape
    row, col = math.floor(y), math.floor(x)
    if not (0 <= row < rows and 0 <= col < cols):
        return ""
    return pixel_text(frame, row, col)


def pixel_text(frame: Frame, row: int, col: int) -> str:
    """``name[i, j] = value`` for displayed pixel ``(row, col)``; for a reduced view, which block
    the element leads and the value the pixel shows."""
    view = frame.view
    index, value = element_at(view, frame.tensor, row, col)
    text = f"{frame.ref.name}[{', '.join(map(str, index))}] = {format_value(value)}"
    if view.block != (1, 1):
        text += (f"   (largest |value| of the {view.block[0]}×{view.block[1]} block at pixel {row}, {col}; "
                 f"shown {number(float(view.values[row, col]))})")
    return text
