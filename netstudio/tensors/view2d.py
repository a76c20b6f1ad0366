"""A 2-D view of any tensor, small enough to draw as a heatmap.

Layout rules (``source_shape`` -> displayed 2-D array before reduction):

* 0-d -> 1x1; 1-d ``(n,)`` -> 1xn; 2-d as is.
* 4-d ``(out, in, kh, kw)`` (a conv weight) -> a grid of kernels: tile
  ``(o, i)`` holds ``t[o, i]`` at rows ``o*kh ..``, columns ``i*kw ..``.  There
  are no separator pixels; ``tile`` gives ``(kh, kw)`` so the UI can draw lines.
* 3-d and 5-d or more: the leading ``ndim - 2`` indices are fixed by
  ``slice_index`` (all zeros by default) and the last two dimensions are shown.
* An empty tensor gives a 0x0 view.

A displayed pixel leads back to the tensor through ``HeatmapView.index_at``
(the first element of its block) and :func:`element_at` (the element whose
value it shows).

When the 2-D array is larger than ``max_shape`` it is reduced by blocks of
``block = (rows, cols)`` elements, each shown as its element of largest
magnitude with its sign, so a single outlier stays visible (a mean would hide
it).  NaN in a block shows as NaN and infinities survive.  The reduction runs
on the tensor's own device; only the reduced float32 array reaches the CPU.

Tensors from files can be odd.  An expanded view (``expand``: stride 0) is
reduced without being materialised: rows or columns that repeat are reduced
once and the result repeated, which is exact.  One whose repeats cannot be
seen that way (a 4-d layout, an overlapping ``as_strided`` view) and that has
more than ``REPEAT_LIMIT`` elements is refused in one sentence, as are meta
tensors (no values), nested tensors (no single shape) and sparse tensors of
more than ``REPEAT_LIMIT`` elements (smaller ones are drawn dense).
Quantized tensors show their dequantized values.  A dtype the reduction must
convert first (float8, uint16, complex...) is refused when the float32 copy
would exceed the memory budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from netstudio.errors import NetStudioError
from netstudio.limits import format_bytes, memory_budget
from netstudio.tensors.layout import DISPLAY_NUMEL, dequantized, detached, real_values, require_values, stored_count

#: Elements of a repeating or sparse tensor that may be drawn element by element.
REPEAT_LIMIT = DISPLAY_NUMEL

# dtypes that torch.maximum/amax handle on every device; others become float32.
_NATIVE_DTYPES = {
    torch.float16, torch.bfloat16, torch.float32, torch.float64,
    torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool,
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class HeatmapView:
    """Pixels to draw plus what is needed to map a pixel back to the tensor.

    Two steps, each written once: a displayed pixel covers a block of the
    2-D layout (:meth:`block_at`: ``block[0]`` rows by ``block[1]`` columns),
    and a layout element is one element of the tensor (:meth:`source_index`).
    """

    values: np.ndarray  # float32, shape (rows, cols) after reduction
    source_shape: tuple[int, ...]
    slice_index: tuple[int, ...]  # the fixed leading indices; () unless 3-d or >=5-d
    tile: tuple[int, int] | None  # (kh, kw) of each kernel for 4-d tensors, in unreduced elements
    block: tuple[int, int]  # source elements per displayed pixel, (rows, cols)

    @property
    def layout_shape(self) -> tuple[int, int]:
        """(rows, cols) of the 2-D layout before reduction."""
        shape = self.source_shape
        if len(shape) < 2:
            return 1, (shape[0] if shape else 1)
        if self.tile is not None:
            return shape[0] * shape[2], shape[1] * shape[3]
        return shape[-2], shape[-1]

    def block_at(self, row: int, col: int) -> tuple[range, range]:
        """The layout rows and columns displayed pixel ``(row, col)`` covers (edge blocks may be partial)."""
        rows, cols = self.values.shape
        if not (0 <= row < rows and 0 <= col < cols):
            raise NetStudioError(f"Pixel ({row}, {col}) is outside the {rows}x{cols} heatmap.")
        (br, bc), (height, width) = self.block, self.layout_shape
        return range(row * br, min((row + 1) * br, height)), range(col * bc, min((col + 1) * bc, width))

    def source_index(self, r, c) -> tuple:
        """Tensor index of layout element ``(r, c)``; ints, or index tensors that broadcast."""
        ndim = len(self.source_shape)
        if ndim == 0:
            return ()
        if ndim == 1:
            return (c,)
        if self.tile is not None:
            kh, kw = self.tile
            return (r // kh, c // kw, r % kh, c % kw)
        return (*self.slice_index, r, c)

    def index_at(self, row: int, col: int) -> tuple[int, ...]:
        """Tensor index under displayed pixel ``(row, col)``.

        For a reduced view this is the *first* element of the pixel's block
        (its top-left corner); :func:`element_at` finds the one it shows.
        """
        rows, cols = self.block_at(row, col)
        return self.source_index(rows.start, cols.start)


def element_at(view: HeatmapView, tensor: torch.Tensor, row: int, col: int) -> tuple[tuple[int, ...], torch.Tensor]:
    """The tensor index and value that pixel ``(row, col)`` of ``view`` (made from ``tensor``) shows:
    the block's element of largest magnitude, or its first NaN, as the reduction keeps them."""
    rows, cols = view.block_at(row, col)
    if len(rows) * len(cols) == 1:
        index = view.source_index(rows.start, cols.start)
        return index, tensor[index]
    r = torch.arange(rows.start, rows.stop)[:, None]
    c = torch.arange(cols.start, cols.stop)[None, :]
    where = view.source_index(r.to(tensor.device), c.to(tensor.device))   # a slice's fixed indices stay ints
    t = tensor.detach()
    if t.layout != torch.strided:
        t = t.to_dense()   # drawn only when small (REPEAT_LIMIT elements)
    values = real_values(t[where]).double().reshape(-1)   # abs(int8 -128) overflows; bool, uint16... have no abs
    mags = values.abs()
    nan = torch.isnan(mags)
    top = (mags == mags.max()).to(torch.int8) * 2 + (values > 0).to(torch.int8)   # a tie goes to the positive
    flat = int(torch.nonzero(nan)[0]) if bool(nan.any()) else int(torch.argmax(top))
    index = tuple(int(i) for i in view.source_index(rows[flat // len(cols)], cols[flat % len(cols)]))
    return index, tensor[index]


def slice_dims(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Sizes of the leading dimensions a slice index fixes: those of a 3-d or 5-d+ tensor, else ()."""
    return tuple(shape[:-2]) if len(shape) == 3 or len(shape) >= 5 else ()


def heatmap_view(
    tensor: torch.Tensor,
    max_shape: tuple[int, int] = (1024, 1024),
    slice_index: tuple[int, ...] | None = None,
) -> HeatmapView:
    """Lay ``tensor`` out in 2-D and reduce it to at most ``max_shape`` pixels."""
    t = _drawable(detached(tensor))
    source_shape = tuple(t.shape)
    if t.numel() == 0:
        return HeatmapView(np.zeros((0, 0), np.float32), source_shape, (), None, (1, 1))
    repeats = t.numel() > REPEAT_LIMIT and stored_count(t) is not None
    x2d, fixed, tile = _layout(t, slice_index, copy=not repeats)
    block = block_shape(tuple(x2d.shape), max_shape)
    if repeats:
        values = _reduce_repeats(x2d, *max_shape)
    else:
        values = reduce_max_abs(x2d, *max_shape)
    return HeatmapView(values.cpu().numpy(), source_shape, fixed, tile, block)


def _drawable(t: torch.Tensor) -> torch.Tensor:
    """A strided tensor of numbers standing for ``t`` (see the module docstring), or a
    one-sentence refusal."""
    require_values(t)
    if t.is_nested:
        raise NetStudioError("A nested tensor's parts differ in shape, so it has no single picture.")
    if t.layout != torch.strided:
        if t.numel() > REPEAT_LIMIT:
            raise NetStudioError(f"This sparse tensor has {t.numel():,} elements, too many to draw as a picture.")
        return t.to_dense()
    if t.is_quantized:
        if t.numel() > REPEAT_LIMIT and stored_count(t) is not None:
            raise NetStudioError(f"This quantized view repeats its values over {t.numel():,} elements, "
                                 "too many to draw.")
        _check_copy(t)
        return dequantized(t)
    return t


def _reduce_repeats(x2d: torch.Tensor, max_rows: int, max_cols: int) -> torch.Tensor:
    """``reduce_max_abs`` of a 2-D view whose rows or columns repeat (stride 0): each repeating
    direction is reduced once and the result repeated, which gives the same pixels."""
    rows, cols = x2d.shape
    br, bc = block_shape((rows, cols), (max_rows, max_cols))
    x = x2d
    if x.stride(0) == 0:
        x = x[:1]
    if x.stride(1) == 0:
        x = x[:, :1]
    if x.numel() > REPEAT_LIMIT:
        raise NetStudioError(f"This view repeats its stored values over {x2d.numel():,} elements in a way "
                             "that cannot be drawn without reading each one.")
    small = reduce_max_abs(x, max_rows, max_cols)
    return small.expand(math.ceil(rows / br), math.ceil(cols / bc)).contiguous()


def _layout(
    t: torch.Tensor, slice_index: tuple[int, ...] | None, copy: bool = True
) -> tuple[torch.Tensor, tuple[int, ...], tuple[int, int] | None]:
    """(2-D tensor, fixed leading indices, tile) following the module's rules; with ``copy``
    False a layout that is not a view of ``t`` is refused rather than copied."""
    lead = slice_dims(tuple(t.shape))
    if not lead and slice_index:
        raise NetStudioError(f"A {t.ndim}-d tensor is shown whole, so it takes no slice index.")
    if t.ndim == 0:
        return t.reshape(1, 1), (), None
    if t.ndim == 1:
        return t.reshape(1, -1), (), None
    if t.ndim == 2:
        return t, (), None
    if t.ndim == 4:
        out_ch, in_ch, kh, kw = t.shape
        tiles = t.permute(0, 2, 1, 3)
        try:
            x2d = tiles.reshape(out_ch * kh, in_ch * kw) if copy else tiles.view(out_ch * kh, in_ch * kw)
        except RuntimeError:
            raise NetStudioError(f"This 4-d view repeats its stored values over {t.numel():,} elements, "
                                 "too many to lay out as kernels.") from None
        return x2d, (), (kh, kw)
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
    br, bc = block_shape(tuple(x.shape), (max_rows, max_cols))
    if x.dtype not in _NATIVE_DTYPES:
        _check_copy(x)
    x = real_values(x)
    if x.dtype not in _NATIVE_DTYPES:
        x = x.float()
    elif x.dtype == torch.bool:
        x = x.view(torch.uint8)
    if (br, bc) == (1, 1):
        return x.to(torch.float32, copy=True)  # never share memory with a live parameter
    hi = _fold_cols(_fold_rows(x, br, torch.maximum), bc, torch.amax).float()
    lo = _fold_cols(_fold_rows(x, br, torch.minimum), bc, torch.amin).float()
    return torch.where(-lo > hi, lo, hi)


def _check_copy(x: torch.Tensor) -> None:
    """Refuse converting ``x`` when the float copies (a complex32 passes through complex64) exceed
    the memory budget."""
    need = x.numel() * (12 if x.dtype == torch.complex32 else 4)
    if need > memory_budget():
        raise NetStudioError(f"Drawing this {str(x.dtype).removeprefix('torch.')} tensor would need "
                             f"{format_bytes(need)}, more than the memory budget of "
                             f"{format_bytes(memory_budget())}.")


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
    """Reduce each run of ``step`` columns; the ragged edge is reduced on its own (splitting the
    column dimension is always a view, so nothing the size of ``x`` is copied)."""
    if step == 1:
        return x
    rows, cols = x.shape
    full = cols - cols % step
    parts = [reduce(x[:, :full].reshape(rows, -1, step), dim=-1)] if full else []
    if full < cols:
        parts.append(reduce(x[:, full:], dim=-1, keepdim=True))
    return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
