"""What a heatmap view looks like on screen, short of drawing it: colour limits,
the NaN/Inf marks, the lines between kernels, and shrinking for the screen.

A colour map has no colour for NaN, so a picture is two images: the values
with every non-finite one replaced by 0 (the neutral middle colour), and above
them an RGBA overlay, transparent except at NaN (magenta), +Inf (yellow) and
-Inf (green).  None of these colours occurs in the blue-white-red map, so they
cannot be mistaken for a value.  The colour range is symmetric, ±max|finite
value|, so zero is always the middle colour.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from netstudio.tensors.view2d import HeatmapView, reduce_max_abs

NAN_RGBA = (255, 0, 255, 255)
POS_INF_RGBA = (255, 221, 0, 255)
NEG_INF_RGBA = (0, 170, 60, 255)
MAX_GRID_LINES = 256   # more kernels than this each way get no lines between them


def split_nonfinite(values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(values with NaN and infinities set to 0, RGBA (rows, cols, 4) uint8 overlay marking them);
    the overlay is None, and the values are returned as they are, when every value is finite."""
    if np.isfinite(values).all():
        return values, None
    overlay = np.zeros(values.shape + (4,), np.uint8)
    overlay[np.isnan(values)] = NAN_RGBA
    overlay[np.isposinf(values)] = POS_INF_RGBA
    overlay[np.isneginf(values)] = NEG_INF_RGBA
    return np.where(np.isfinite(values), values, np.float32(0)), overlay


def symmetric_limit(values: np.ndarray) -> float:
    """max |finite value|: the colour range is ±this (1 when there is no nonzero finite value)."""
    finite = values[np.isfinite(values)]
    limit = float(np.abs(finite).max()) if finite.size else 0.0
    return limit if limit > 0 else 1.0


def level_rounding(limit: float) -> float:
    """The step colour limits are rounded to: three digits below the limit's own, so tiny
    weights (1e-5) keep their range instead of rounding to zero."""
    return 10.0 ** (math.floor(math.log10(limit)) - 3)


def extent(view: HeatmapView) -> tuple[int, int]:
    """(width, height) of the picture in tensor elements (at least 1 each way): images are placed
    in tensor coordinates, so axes and the hover readout speak in element indices."""
    rows, cols = view.values.shape
    return max(cols * view.block[1], 1), max(rows * view.block[0], 1)


def kernel_grid(view: HeatmapView) -> tuple[np.ndarray, np.ndarray]:
    """Line segments between the kernels of a conv weight, as (xs, ys) pairs of end points in
    tensor coordinates; none for other tensors, nor where the kernels are under 2 pixels apart."""
    if view.tile is None:
        return np.zeros(0), np.zeros(0)
    kh, kw = view.tile
    out_ch, in_ch = view.source_shape[:2]
    width, height = extent(view)
    xs: list[float] = []
    ys: list[float] = []
    if 1 < out_ch <= MAX_GRID_LINES and kh / view.block[0] >= 2:
        for o in range(1, out_ch):
            xs += [0, width]
            ys += [o * kh, o * kh]
    if 1 < in_ch <= MAX_GRID_LINES and kw / view.block[1] >= 2:
        for i in range(1, in_ch):
            xs += [i * kw, i * kw]
            ys += [0, height]
    return np.asarray(xs, float), np.asarray(ys, float)


def block_reduce(image: np.ndarray, by: int, bx: int) -> np.ndarray:
    """Shrink an image by (by, bx) blocks for a screen with fewer pixels: a 2-D array keeps each
    block's value of largest magnitude (with its sign); an RGBA array keeps each channel's maximum,
    so a marked pixel stays marked.  (Block means or skipped pixels would hide a lone outlier.)"""
    rows, cols = image.shape[:2]
    by, bx = -(-rows // -(-rows // by)), -(-cols // -(-cols // bx))   # as even as the same pixel count allows
    if image.ndim == 2:  # the engine's reduction: strided folds, much faster than a numpy reshape-reduce
        if not image.flags.writeable:
            image = image.copy()
        return reduce_max_abs(torch.from_numpy(image), -(-rows // by), -(-cols // bx)).numpy()
    pad = ((0, -rows % by), (0, -cols % bx)) + ((0, 0),) * (image.ndim - 2)
    if any(p for p, _ in pad[:2]) or any(p for _, p in pad[:2]):
        image = np.pad(image, pad, mode="edge")
    blocks = image.reshape(image.shape[0] // by, by, image.shape[1] // bx, bx, *image.shape[2:])
    return blocks.max(axis=(1, 3))
