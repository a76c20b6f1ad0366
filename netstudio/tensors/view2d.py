"""A 2-D view of any tensor, small enough to draw as a heatmap.

Layout rules (``source_shape`` -> displayed 2-D array before reduction):

* 0-d -> 1x1; 1-d ``(n,)`` -> 1xn; 2-d as is.
* 4-d ``(out, in, kh, kw)`` (a conv weight) -> a grid of kernels: tile
  ``(o, i)`` holds ``t[o, i]`` at rows ``o*kh ..``, columns ``i*kw ..``.  There
  are no separator pixels; ``tile`` gives ``(kh, kw)`` so the UI can draw lines.
* 3-d and 5-d or more: the leading ``ndim - 2`` indices are fixed by
  ``slice_index`` (all zeros by default) and the last two dimensions are shown.
* An empty tensor gives a 0x0 view.

When the 2-D array is larger than ``max_shape`` it is reduced by blocks of
``block = (rows, cols)`` elements, each shown as its element of largest
magnitude with its sign, so a single outlier stays visible (a mean would hide
it).  NaN in a block shows as NaN and infinities survive.  The reduction runs
on the tensor's own device; only the reduced float32 array reaches the CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from netstudio.errors import NetStudioError

# dtypes that torch.maximum/amax handle on every device; others become float32.
_NATIVE_DTYPES = {
    torch.float16, torch.bfloat16, torch.float32, torch.float64,
    torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool,
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class HeatmapView:
    """Pixels to draw plus what is needed to map a pixel back to the tensor."""

    values: np.ndarray  # float32, shape (rows, cols) after reduction
    source_shape: tuple[int, ...]
    slice_index: tuple[int, ...]  # the fixed leading indices; () unless 3-d or >=5-d
    tile: tuple[int, int] | None  # (kh, kw) of each kernel for 4-d tensors, in unreduced elements
    block: tuple[int, int]  # source elements per displayed pixel, (rows, cols)

    def index_at(self, row: int, col: int) -> tuple[int, ...]:
        """Tensor index under displayed pixel ``(row, col)``.

        For a reduced view this is the *first* element of the pixel's block
        (its top-left corner); the block spans ``block`` elements from there.
        """
        rows, cols = self.values.shape
        if not (0 <= row < rows and 0 <= col < cols):
            raise NetStudioError(f"Pixel ({row}, {col}) is outside the {rows}x{cols} heatmap.")
        r, c = row * self.block[0], col * self.block[1]
        ndim = len(self.source_shape)
        if ndim == 0:
            return ()
        if ndim == 1:
            return (c,)
        if self.tile is not None:
            kh, kw = self.tile
            return (r // kh, c // kw, r % kh, c % kw)
        return (*self.slice_index, r, c)


def heatmap_view(
    tensor: torch.Tensor,
    max_shape: tuple[int, int] = (1024, 1024),
    slice_index: tuple[int, ...] | None = None,
) -> HeatmapView:
    """Lay ``tensor`` out in 2-D and reduce it to at most ``max_shape`` pixels."""
    t = tensor.detach()
    source_shape = tuple(t.shape)
    if t.numel() == 0:
        return HeatmapView(np.zeros((0, 0), np.float32), source_shape, (), None, (1, 1))
    x2d, fixed, tile = _layout(t, slice_index)
    block = block_shape(tuple(x2d.shape), max_shape)
    values = reduce_max_abs(x2d, *max_shape).cpu().numpy()
    return HeatmapView(values, source_shape, fixed, tile, block)


def _layout(
    t: torch.Tensor, slice_index: tuple[int, ...] | None
) -> tuple[torch.Tensor, tuple[int, ...], tuple[int, int] | None]:
    """(2-D tensor, fixed leading indices, tile) following the module's rules."""
    sliced = t.ndim == 3 or t.ndim >= 5
    if not sliced and slice_index:
        raise NetStudioError(f"A {t.ndim}-d tensor is shown whole, so it takes no slice index.")
    if t.ndim == 0:
        return t.reshape(1, 1), (), None
    if t.ndim == 1:
        return t.reshape(1, -1), (), None
    if t.ndim == 2:
        return t, (), None
    if t.ndim == 4:
        out_ch, in_ch, kh, kw = t.shape
        return t.permute(0, 2, 1, 3).reshape(out_ch * kh, in_ch * kw), (), (kh, kw)
    lead = tuple(t.shape[:-2])
    fixed = tuple(slice_index) if slice_index is not None else (0,) * len(lead)
    if len(fixed) != len(lead) or not all(0 <= i < n for i, n in zip(fixed, lead)):
        raise NetStudioError(f"Slice index {fixed} does not fit the leading dimensions {lead} of the tensor.")
    return t[fixed], fixed, None


def block_shape(shape: tuple[int, int], max_shape: tuple[int, int]) -> tuple[int, int]:
    """Smallest block (rows, cols) that brings ``shape`` within ``max_shape``."""
    if min(max_shape) < 1:
        raise NetStudioError(f"A heatmap needs at least one pixel each way, not {max_shape}.")
    return (max(1, math.ceil(shape[0] / max_shape[0])), max(1, math.ceil(shape[1] / max_shape[1])))


def reduce_max_abs(x2d: torch.Tensor, max_rows: int, max_cols: int) -> torch.Tensor:
    """Shrink a 2-D tensor to at most ``max_rows`` x ``max_cols`` by signed block max-abs.

    Returns a new float32 tensor on ``x2d``'s device.  Blocks at the bottom and right edges
    may be partial; they cover only real elements.  Complex tensors show
    their magnitude.
    """
    x = x2d.detach()
    if x.is_complex():
        x = x.abs()
    if x.dtype not in _NATIVE_DTYPES:
        x = x.float()
    elif x.dtype == torch.bool:
        x = x.view(torch.uint8)
    br, bc = block_shape(tuple(x.shape), (max_rows, max_cols))
    if (br, bc) == (1, 1):
        return x.to(torch.float32, copy=True)  # never share memory with a live parameter
    hi = _fold_cols(_fold_rows(x, br, torch.maximum), bc, torch.amax).float()
    lo = _fold_cols(_fold_rows(x, br, torch.minimum), bc, torch.amin).float()
    return torch.where(-lo > hi, lo, hi)


def _fold_rows(x: torch.Tensor, step: int, op) -> torch.Tensor:
    """Combine each run of ``step`` rows elementwise.

    Strided row slices with an elementwise op are much faster than a
    reduction over a middle dimension; shorter trailing slices only update
    the leading rows, so the last, partial block needs no padding.
    """
    if step == 1:
        return x
    out = x[0::step].clone()
    for i in range(1, step):
        part = x[i::step]
        dest = out[: part.shape[0]]
        op(dest, part, out=dest)
    return out


def _fold_cols(x: torch.Tensor, step: int, reduce) -> torch.Tensor:
    """Reduce each run of ``step`` columns; the ragged edge is padded with its last column."""
    if step == 1:
        return x
    rows, cols = x.shape
    pad = -cols % step
    if pad:
        x = torch.cat([x, x[:, -1:].expand(rows, pad)], dim=1)
    return reduce(x.reshape(rows, -1, step), dim=-1)
