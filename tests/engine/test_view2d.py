"""heatmap_view / reduce_max_abs: layouts, signed max-abs reduction, index mapping."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netstudio.errors import NetStudioError
from netstudio.tensors.view2d import heatmap_view, reduce_max_abs

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def reference_max_abs(x: np.ndarray, br: int, bc: int) -> np.ndarray:
    """Per-block loop: NaN if the block has one, else its element of largest
    magnitude (the positive one when +v and -v tie)."""
    rows, cols = math.ceil(x.shape[0] / br), math.ceil(x.shape[1] / bc)
    out = np.empty((rows, cols), np.float32)
    for r in range(rows):
        for c in range(cols):
            block = x[r * br : (r + 1) * br, c * bc : (c + 1) * bc].astype(np.float64).ravel().tolist()
            out[r, c] = math.nan if any(map(math.isnan, block)) else max(block, key=lambda v: (abs(v), v))
    return out


# ---------------------------------------------------------------- layout


def test_small_tensors_are_shown_whole():
    assert heatmap_view(torch.tensor(2.5)).values.tolist() == [[2.5]]
    v = heatmap_view(torch.arange(5))
    assert v.values.shape == (1, 5) and v.values.dtype == np.float32 and v.index_at(0, 3) == (3,)
    m = torch.randn(3, 4)
    v = heatmap_view(m)
    assert np.array_equal(v.values, m.numpy()) and v.block == (1, 1) and v.tile is None
    assert v.index_at(2, 1) == (2, 1)


def test_conv_weight_is_a_grid_of_kernels():
    w = torch.randn(2, 3, 4, 5)  # out, in, kh, kw
    v = heatmap_view(w)
    assert v.values.shape == (2 * 4, 3 * 5) and v.tile == (4, 5)
    for o in range(2):
        for i in range(3):
            assert np.array_equal(v.values[o * 4 : (o + 1) * 4, i * 5 : (i + 1) * 5], w[o, i].numpy())
    assert v.index_at(5, 11) == (1, 2, 1, 1)
    assert w[v.index_at(5, 11)].item() == v.values[5, 11]


def test_three_and_five_d_tensors_show_a_slice():
    t = torch.randn(3, 4, 5)
    v = heatmap_view(t)
    assert v.slice_index == (0,) and np.array_equal(v.values, t[0].numpy())
    v = heatmap_view(t, slice_index=(2,))
    assert np.array_equal(v.values, t[2].numpy()) and v.index_at(1, 3) == (2, 1, 3)
    t5 = torch.randn(2, 3, 2, 4, 5)
    v = heatmap_view(t5, slice_index=(1, 2, 0))
    assert np.array_equal(v.values, t5[1, 2, 0].numpy()) and v.index_at(3, 4) == (1, 2, 0, 3, 4)


@pytest.mark.parametrize(
    ("shape", "slice_index"),
    [((3, 4, 5), (3,)), ((3, 4, 5), (0, 0)), ((3, 4, 5), (-1,)), ((4, 5), (0,))],
)
def test_bad_slice_index_is_refused(shape, slice_index):
    with pytest.raises(NetStudioError):
        heatmap_view(torch.zeros(shape), slice_index=slice_index)


def test_empty_tensor_gives_an_empty_view():
    v = heatmap_view(torch.empty(0, 7))
    assert v.values.shape == (0, 0) and v.source_shape == (0, 7)
    with pytest.raises(NetStudioError):
        v.index_at(0, 0)


def test_index_outside_the_view_is_refused():
    with pytest.raises(NetStudioError):
        heatmap_view(torch.zeros(2, 2)).index_at(2, 0)


# ---------------------------------------------------------------- reduction


@pytest.mark.parametrize("device", DEVICES)
def test_reduction_keeps_the_signed_outlier(device):
    x = torch.zeros(64, 64, device=device)
    x[5, 7] = -100.0
    x[40, 41] = 3.0
    x[41, 40] = -2.0
    v = heatmap_view(x, max_shape=(16, 16))
    assert v.values.shape == (16, 16) and v.block == (4, 4)
    assert v.values[1, 1] == -100.0 and v.values[10, 10] == 3.0
    assert np.count_nonzero(v.values) == 2
    assert v.index_at(1, 1) == (4, 4)  # the block's first element


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    max_rows=st.integers(1, 12),
    max_cols=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_reduction_matches_a_per_block_reference(rows, cols, max_rows, max_cols, seed):
    x = torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))
    out = reduce_max_abs(x, max_rows, max_cols)
    br, bc = math.ceil(rows / max_rows), math.ceil(cols / max_cols)
    assert out.shape[0] <= max_rows and out.shape[1] <= max_cols
    np.testing.assert_array_equal(out.numpy(), reference_max_abs(x.numpy(), br, bc))


def test_positive_value_wins_a_tie_in_magnitude():
    assert reduce_max_abs(torch.tensor([[-3.0, 3.0, 1.0]]), 1, 1).item() == 3.0
    assert reduce_max_abs(torch.tensor([[-3.0, 2.0, 1.0]]), 1, 1).item() == -3.0


def test_nan_and_infinities_survive_reduction():
    x = torch.randn(8, 8)
    x[0, 1] = float("nan")
    x[5, 2] = float("-inf")
    x[6, 6] = float("inf")
    x[7, 7] = float("-inf")
    out = reduce_max_abs(x, 2, 2).numpy()
    assert np.isnan(out[0, 0]) and out[1, 0] == -np.inf and out[1, 1] == np.inf
    assert np.isfinite(out[0, 1])


@pytest.mark.parametrize(
    "dtype",
    [torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.uint8, torch.int64, torch.uint16, torch.bool],
    ids=str,
)
def test_every_dtype_reduces_to_float32(dtype):
    base = torch.zeros(6, 6)
    base[1, 1], base[4, 4] = 1, 0.5
    x = base.to(dtype)
    if dtype == torch.int8:
        x[2, 2] = -128  # |-128| does not fit int8: reduction must not overflow
    out = reduce_max_abs(x, 2, 2)
    assert out.dtype == torch.float32
    expected = reference_max_abs(x.float().numpy(), 3, 3)
    np.testing.assert_array_equal(out.numpy(), expected)


def test_complex_tensors_show_their_magnitude():
    x = torch.tensor([[3 + 4j, 0j], [0j, -1j]])
    assert heatmap_view(x).values.tolist() == [[5.0, 0.0], [0.0, 1.0]]


def test_view_does_not_share_memory_with_the_tensor():
    w = torch.zeros(3, 3)
    v = heatmap_view(w)
    w.fill_(1.0)
    assert not v.values.any()


def test_tensors_that_require_grad_are_viewed_without_tracking():
    w = torch.nn.Parameter(torch.randn(20, 20))
    v = heatmap_view(w, max_shape=(5, 5))
    assert v.values.shape == (5, 5) and v.block == (4, 4)


def test_non_contiguous_input_reduces_correctly():
    x = torch.randn(30, 20).t()  # 20 x 30, transposed strides
    np.testing.assert_array_equal(reduce_max_abs(x, 7, 7).numpy(), reference_max_abs(x.numpy(), 3, 5))


def test_max_shape_must_allow_a_pixel():
    with pytest.raises(NetStudioError):
        heatmap_view(torch.zeros(4, 4), max_shape=(0, 4))
