"""How a heatmap view is drawn, short of drawing it: NaN/Inf marks, symmetric colour limits, the picture's
size in tensor coordinates, and the lines between conv kernels."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from netstudio.tensors.heatmap_picture import (MAX_GRID_LINES, NAN_RGBA, NEG_INF_RGBA, POS_INF_RGBA, block_reduce,
                                               extent, kernel_grid, level_rounding, split_nonfinite, symmetric_limit)
from netstudio.tensors.view2d import heatmap_view


def test_non_finite_values_become_zero_under_marks_of_their_own():
    values = np.array([[1.0, np.nan], [np.inf, -np.inf]], np.float32)
    base, overlay = split_nonfinite(values)
    assert base.tolist() == [[1.0, 0.0], [0.0, 0.0]] and overlay.shape == (2, 2, 4)
    assert [tuple(overlay[i]) for i in ((0, 1), (1, 0), (1, 1))] == [NAN_RGBA, POS_INF_RGBA, NEG_INF_RGBA]
    assert overlay[0, 0].tolist() == [0, 0, 0, 0]
    finite = np.ones((2, 3), np.float32)
    assert split_nonfinite(finite) == (finite, None)


@pytest.mark.parametrize(("values", "limit"), [
    ([[0.5, -2.0], [np.nan, np.inf]], 2.0),    # the largest finite magnitude, of either sign
    ([[0.0, 0.0]], 1.0),                       # nothing to scale by: ±1
    ([[np.nan]], 1.0),
    (np.zeros((0, 0)), 1.0),
    ([[1e-5, -3e-5]], 3e-5),
])
def test_colour_limits_are_symmetric_around_zero(values, limit):
    assert symmetric_limit(np.asarray(values, np.float32)) == pytest.approx(limit, rel=1e-6)


def test_limits_round_three_digits_below_their_own():
    assert level_rounding(7.5) == pytest.approx(1e-3)
    assert level_rounding(3e-5) == pytest.approx(1e-8)
    assert level_rounding(1.0) == pytest.approx(1e-3)


def test_the_picture_is_placed_in_tensor_coordinates_width_first():
    v = heatmap_view(torch.zeros(3000, 10), (1024, 1024))
    assert v.block == (3, 1) and extent(v) == (10, 3000)
    assert extent(heatmap_view(torch.zeros(0, 7))) == (1, 1)
    wide = heatmap_view(torch.zeros(10, 3000), (1024, 1024))
    assert wide.block == (1, 3) and extent(wide) == (3000, 10)


def test_lines_run_between_kernels_rows_then_columns():
    v = heatmap_view(torch.zeros(3, 2, 5, 4))        # 3 kernels down (5 rows each), 2 across (4 columns each)
    xs, ys = kernel_grid(v)
    segments = list(zip(zip(xs[::2], ys[::2]), zip(xs[1::2], ys[1::2])))
    assert segments == [((0, 5), (8, 5)), ((0, 10), (8, 10)), ((4, 0), (4, 15))]
    assert [len(a) for a in kernel_grid(heatmap_view(torch.zeros(3, 4)))] == [0, 0]
    tiny = heatmap_view(torch.zeros(2, 2, 300, 1), (100, 100))   # kernels a pixel wide: no column lines
    xs, ys = kernel_grid(tiny)
    assert len(xs) == 2 and set(ys) == {300}


def _lines(v):
    """(ys of the lines across, xs of the lines down) of a view's kernel grid."""
    xs, ys = kernel_grid(v)
    across = [y for x0, x1, y in zip(xs[::2], xs[1::2], ys[::2]) if x0 != x1]
    down = [x0 for x0, x1 in zip(xs[::2], xs[1::2]) if x0 == x1]
    return across, down


@pytest.mark.parametrize(("shape", "max_shape", "across", "down"), [
    ((MAX_GRID_LINES, 1, 2, 1), (1024, 1024), MAX_GRID_LINES - 1, 0),   # as many kernels as may have lines
    ((MAX_GRID_LINES + 1, 1, 2, 1), (1024, 1024), 0, 0),                # one more: none
    ((1, MAX_GRID_LINES, 1, 2), (1024, 1024), 0, MAX_GRID_LINES - 1),
    ((1, MAX_GRID_LINES + 1, 1, 2), (1024, 1024), 0, 0),
    ((1, 3, 2, 2), (1024, 1024), 0, 2),                                 # one kernel down: no line across
    ((4, 1, 3, 2), (6, 10), 0, 0),                                      # kernels 3 rows tall in 2-row pixels
    ((4, 1, 4, 2), (8, 10), 3, 0),                                      # exactly 2 pixels apart: lines
    ((1, 4, 2, 3), (10, 6), 0, 0),                                      # ... and the same across
    ((1, 4, 2, 4), (10, 8), 0, 3),
])
def test_kernel_lines_need_kernels_two_pixels_apart_and_not_too_many(shape, max_shape, across, down):
    v = heatmap_view(torch.zeros(shape), max_shape)
    got_across, got_down = _lines(v)
    assert (len(got_across), len(got_down)) == (across, down)
    kh, kw = shape[2:]
    assert got_across == [o * kh for o in range(1, across + 1)] and got_down == [i * kw for i in range(1, down + 1)]


def test_a_screen_smaller_than_the_picture_keeps_signed_extremes_rows_and_columns_apart():
    a = np.zeros((4, 9), np.float32)
    a[3, 8], a[0, 4] = -3.0, 2.0
    out = block_reduce(a, 2, 3)
    assert out.tolist() == [[0.0, 2.0, 0.0], [0.0, 0.0, -3.0]]
    frozen = a.copy()
    frozen.flags.writeable = False                   # a picture pyqtgraph holds read-only
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # torch would warn about a read-only array
        assert block_reduce(frozen, 2, 3).tolist() == out.tolist()


def test_marks_shrink_in_the_same_blocks_as_the_values():
    """9 rows on a screen 4 times smaller: both images get 3 pixels of 3 rows, so a mark stays over its value."""
    values = np.zeros((9, 5), np.float32)
    values[7, 4] = -1.0
    marks = np.zeros((9, 5, 4), np.uint8)
    marks[7, 4] = NAN_RGBA
    shown, marked = block_reduce(values, 4, 2), block_reduce(marks, 4, 2)
    assert shown.shape == marked.shape[:2] == (3, 3)
    assert shown[2, 2] == -1.0 and tuple(marked[2, 2]) == NAN_RGBA and marked.sum() == sum(NAN_RGBA)
    tall, wide = np.zeros((34, 1), np.float32), np.zeros((1, 34), np.float32)
    tall[7, 0] = wide[0, 7] = 4.0                    # 34 by 7: five pixels of 7 (the last of 6)
    assert block_reduce(tall, 7, 1)[:, 0].tolist() == block_reduce(wide, 1, 7)[0].tolist() == [0, 4, 0, 0, 0]
    edge = np.zeros((5, 3, 4), np.uint8)             # a ragged edge is padded with its own pixels
    edge[4, 2] = POS_INF_RGBA
    reduced = block_reduce(edge, 2, 2)
    assert reduced.shape == (3, 2, 4) and tuple(reduced[2, 1]) == POS_INF_RGBA and reduced[:2].max() == 0
