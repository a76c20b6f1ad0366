"""How a heatmap view is drawn, short of drawing it: NaN/Inf marks, symmetric colour limits, the picture's
size in tensor coordinates, and the lines between conv kernels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netstudio.tensors.heatmap_picture import (NAN_RGBA, NEG_INF_RGBA, POS_INF_RGBA, extent, kernel_grid,
                                               level_rounding, split_nonfinite, symmetric_limit)
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


def test_lines_run_between_kernels_rows_then_columns():
    v = heatmap_view(torch.zeros(3, 2, 5, 4))        # 3 kernels down (5 rows each), 2 across (4 columns each)
    xs, ys = kernel_grid(v)
    segments = list(zip(zip(xs[::2], ys[::2]), zip(xs[1::2], ys[1::2])))
    assert segments == [((0, 5), (8, 5)), ((0, 10), (8, 10)), ((4, 0), (4, 15))]
    assert [len(a) for a in kernel_grid(heatmap_view(torch.zeros(3, 4)))] == [0, 0]
    tiny = heatmap_view(torch.zeros(2, 2, 300, 1), (100, 100))   # kernels a pixel wide: no column lines
    xs, ys = kernel_grid(tiny)
    assert len(xs) == 2 and set(ys) == {300}
