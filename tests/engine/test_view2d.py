"""heatmap_view / reduce_max_abs: layouts, signed max-abs reduction, index mapping."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import netstudio.tensors.view2d as view2d
from netstudio.errors import NetStudioError
from netstudio.limits import set_memory_budget
from netstudio.tensors.layout import display_tensor
from netstudio.tensors.view2d import element_at, heatmap_view, reduce_max_abs
from tests.engine.test_hostile_tensor_files_builders import run_capped
from tests.engine.test_stats import VALUELESS, assert_refused_in_one_sentence

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


# ---------------------------------------------------------------- pixels back to elements: rows stay rows
# Every case has a non-square tensor and a non-square block, so a rows/cols swap anywhere shows.


@pytest.mark.parametrize(
    ("shape", "max_shape", "block", "pixel", "first"),
    [
        ((90, 50), (30, 10), (3, 5), (2, 7), (6, 35)),                  # 2-d
        ((90, 50), (30, 10), (3, 5), (29, 9), (87, 45)),                # the last pixel
        ((6, 4, 5, 3), (15, 3), (2, 4), (7, 2), (2, 2, 4, 2)),          # conv kernels (kh, kw) = (5, 3)
        ((2, 40, 9), (10, 3), (4, 3), (3, 2), (0, 12, 6)),              # a 3-d slice
        ((100,), (4, 10), (1, 10), (0, 3), (30,)),                      # 1-d: one row
    ],
    ids=["2-d", "2-d-last", "conv", "3-d", "1-d"],
)
def test_index_at_reads_rows_by_block_rows_and_columns_by_block_columns(shape, max_shape, block, pixel, first):
    v = heatmap_view(torch.zeros(shape), max_shape=max_shape)
    assert v.block == block
    assert v.index_at(*pixel) == first


@pytest.mark.parametrize(
    ("shape", "max_shape"),
    [((23, 41), (5, 7)), ((41, 23), (7, 5)), ((3, 2, 7, 5), (4, 3)), ((2, 13, 29), (3, 8)), ((57,), (1, 6))],
    ids=["wide", "tall", "conv", "3-d", "1-d"],
)
def test_every_pixel_leads_its_own_block_and_names_the_element_it_shows(shape, max_shape):
    """For each pixel: ``index_at`` is the first element of the pixel's block, and ``element_at`` an element of
    that block whose value is exactly the one drawn (the block's largest magnitude).  Where an element sits in
    the layout is read off an unreduced view of its own flat index, independently of the mapping under test."""
    t = torch.randn(shape, generator=torch.Generator().manual_seed(7))
    v = heatmap_view(t, max_shape=max_shape)
    br, bc = v.block
    assert br != bc
    flat = heatmap_view(torch.arange(t.numel(), dtype=torch.float32).reshape(shape), max_shape=(4096, 4096)).values
    place = {int(f): divmod(i, flat.shape[1]) for i, f in enumerate(flat.reshape(-1))}

    def layout_place(index: tuple[int, ...]) -> tuple[int, int]:
        return place[int(np.ravel_multi_index(index, shape))]

    for row in range(v.values.shape[0]):
        for col in range(v.values.shape[1]):
            assert layout_place(v.index_at(row, col)) == (row * br, col * bc)
            index, value = element_at(v, t, row, col)
            r, c = layout_place(index)
            assert (r // br, c // bc) == (row, col), (row, col, index)
            assert value.item() == v.values[row, col] == t[index].item()


@pytest.mark.parametrize("device", DEVICES)
def test_element_at_names_the_outlier_of_a_wide_block(device):
    t = torch.zeros(6, 40, device=device)
    t[4, 33] = -9.0                    # pixel (4 // 3, 33 // 8) = (1, 4) of blocks (3, 8)
    v = heatmap_view(t, max_shape=(2, 5))
    assert v.block == (3, 8) and v.values[1, 4] == -9.0
    index, value = element_at(v, t, 1, 4)
    assert index == (4, 33) and value.item() == -9.0 and v.index_at(1, 4) == (3, 32)
    cube = torch.zeros(2, 6, 40, device=device)   # a slice's fixed index stays an int beside the index tensors
    cube[1, 5, 2] = float("nan")
    v = heatmap_view(cube, max_shape=(2, 5), slice_index=(1,))
    index, value = element_at(v, cube, 1, 0)
    assert index == (1, 5, 2) and torch.isnan(value)


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


# ---------------------------------------------------------------- tensors from hostile or unusual files


@pytest.mark.parametrize(
    ("make", "slice_index"),
    [
        (lambda g: torch.randn(3, 1, generator=g).expand(3, 40), None),
        (lambda g: torch.randn(1, 4, generator=g).expand(30, 4), None),
        (lambda g: torch.tensor(-2.5).expand(20, 30), None),
        (lambda g: torch.randn(1, generator=g).expand(50), None),
        (lambda g: torch.randn(2, 1, 3, generator=g).expand(2, 40, 3), (1,)),
    ],
    ids=["rows", "columns", "both", "1-d", "3-d-slice"],
)
def test_repeating_views_reduce_exactly_without_materialising(monkeypatch, make, slice_index):
    monkeypatch.setattr(view2d, "REPEAT_LIMIT", 10)  # take the repeating path on small tensors
    t = make(torch.Generator().manual_seed(4))
    got = heatmap_view(t, max_shape=(4, 5), slice_index=slice_index)
    want = heatmap_view(t.contiguous(), max_shape=(4, 5), slice_index=slice_index)
    np.testing.assert_array_equal(got.values, want.values)
    assert (got.block, got.source_shape, got.slice_index) == (want.block, want.source_shape, want.slice_index)


def test_giant_views_are_drawn_or_refused_without_being_read():
    """Views of 2**40 elements: 4 TB if materialised, so the checks run in a capped child process."""
    run_capped("""
from netstudio.errors import NetStudioError
from netstudio.tensors.layout import display_tensor
from netstudio.tensors.view2d import heatmap_view
v = heatmap_view(torch.ones(1).expand(2**40))
assert v.values.shape == (1, 1024) and (v.values == 1).all() and v.block == (1, 2**30), v
rows = torch.tensor([[1.0], [-3.0], [float("nan")]])
v = heatmap_view(rows.expand(3, 2**38))
assert v.values.shape == (3, 1024) and (v.values[1] == -3).all() and torch.isnan(torch.from_numpy(v.values[2])).all()
refused = {
    "4-d": torch.randn(1, 2, 3, 3).expand(2**30, 2, 3, 3),
    "overlapping": torch.arange(2.0**21).as_strided((2**20, 2**20), (1, 1)),
    "sparse": torch.sparse_coo_tensor(torch.tensor([[0], [5]]), torch.tensor([1.0]), (2**20, 2**20)),
    "quantized": torch.quantize_per_tensor(torch.ones(1), 0.1, 0, torch.qint8).expand(2**40),
}
for name, t in refused.items():
    try:
        heatmap_view(t)
    except NetStudioError as err:
        assert str(err).endswith(".") and "\\n" not in str(err), (name, err)
    else:
        raise AssertionError(f"{name} was drawn")
for t in list(refused.values()) + [rows.expand(3, 2**38)]:
    shown = display_tensor(t)
    assert shown.numel() <= 2**24 and shown.layout == torch.strided and not shown.is_quantized, shown.shape
    heatmap_view(shown)
""")


@VALUELESS
def test_tensors_without_values_are_refused_in_one_sentence(x):
    assert_refused_in_one_sentence(heatmap_view, x)


def test_sparse_quantized_nested_and_complex32_tensors():
    dense = torch.tensor([[0.0, 3.0, 0.0], [-4.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that these kinds of tensor are experimental
        sparse = [dense.to_sparse(), dense.to_sparse_csr(), dense.to_sparse_csc()]
        q = torch.quantize_per_tensor(dense, 0.5, 0, torch.qint8)
        nested = torch.nested.nested_tensor([dense[0], dense[1, :2]])
        half = dense.to(torch.complex32)
    for s in sparse:
        np.testing.assert_array_equal(heatmap_view(s).values, dense.numpy())
    np.testing.assert_array_equal(heatmap_view(q).values, dense.numpy())
    np.testing.assert_array_equal(heatmap_view(half).values, dense.abs().numpy())
    with pytest.raises(NetStudioError, match="nested"):
        heatmap_view(nested)
    assert display_tensor(nested).tolist() == [0.0, 3.0, 0.0, -4.0, 0.0]


def test_a_conversion_beyond_the_memory_budget_is_refused():
    x = torch.zeros(100, 100, dtype=torch.uint16)
    set_memory_budget(10_000)
    try:
        with pytest.raises(NetStudioError, match="39.1 KB, more than the memory budget of 9.8 KB"):
            heatmap_view(x)
        assert heatmap_view(torch.zeros(100, 100)).values.shape == (100, 100)  # no conversion, no copy limit
    finally:
        set_memory_budget(None)


def test_display_tensor_keeps_ordinary_tensors_and_narrows_repeats():
    w = torch.randn(3, 4)
    assert display_tensor(w) is w or display_tensor(w).data_ptr() == w.data_ptr()
    shown = display_tensor(torch.arange(3.0)[:, None].expand(3, 2**40))
    assert shown.shape == (3, 1) and shown[:, 0].tolist() == [0.0, 1.0, 2.0]


# ---------------------------------------------------------------- the element a reduced pixel shows


def _quiet(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that sparse and quantized tensors are experimental
        return make()


@pytest.mark.parametrize(("make", "shown", "at"), [
    (lambda t: t, 5.0, 4),                                           # +5 and -5 tie: the positive is shown
    (lambda t: t / 10, 0.5, 4),                                      # ... whatever their size
    (lambda t: t.to(torch.int8).where(t != -5, -128), -128.0, 3),    # abs(-128) overflows in int8
    (lambda t: t != 0, 1.0, 3),                                      # bool and uint16 have no abs
    (lambda t: t.abs().to(torch.uint16), 5.0, 3),
    (lambda t: torch.quantize_per_tensor(t, 0.5, 0, torch.qint8), 5.0, 4),
    (lambda t: t.to_sparse(), 5.0, 4),
    (lambda t: t.to_sparse_csr(), 5.0, 4),
], ids=["tie", "small-tie", "int8", "bool", "uint16", "quantized", "sparse-coo", "sparse-csr"])
def test_a_reduced_pixel_names_the_element_it_shows(make, shown, at):
    base = torch.zeros(2, 3000)
    base[1, 3], base[1, 4] = -5.0, 5.0                     # pixel (1, 1) of blocks (1, 3): columns 3 to 5
    t = _quiet(lambda: make(base))
    v = heatmap_view(t)
    assert v.block == (1, 3) and v.values[1, 1] == shown
    index, value = _quiet(lambda: element_at(v, t, 1, 1))
    assert index == (1, at) and float(value) == shown


def test_quantized_conv_weights_per_channel_are_laid_out_dequantized():
    w = torch.arange(-24.0, 24.0).reshape(4, 3, 2, 2) / 8
    q = _quiet(lambda: torch.quantize_per_channel(w, torch.full((4,), 0.125), torch.zeros(4, dtype=torch.long), 0,
                                                  torch.qint8))
    v = heatmap_view(q)
    assert v.tile == (2, 2) and v.values.shape == (8, 6) and v.values[3, 5] == w[1, 2, 1, 1]


def test_quantized_views_that_repeat_are_refused_past_the_limit(monkeypatch):
    monkeypatch.setattr(view2d, "REPEAT_LIMIT", 100)
    one = _quiet(lambda: torch.quantize_per_tensor(torch.tensor([1.5]), 0.5, 0, torch.qint8))
    assert (heatmap_view(one.expand(100)).values == 1.5).all()                    # at the limit: drawn
    with pytest.raises(NetStudioError, match="This quantized view repeats its values over 101 elements, too many"):
        heatmap_view(one.expand(101))
    plain = _quiet(lambda: torch.quantize_per_tensor(torch.ones(300), 0.5, 0, torch.qint8))
    assert heatmap_view(plain).values.shape == (1, 300)                           # nothing repeats: drawn


def test_quantized_tensors_are_drawn_within_the_memory_budget():
    q = _quiet(lambda: torch.quantize_per_tensor(torch.zeros(100, 100), 0.5, 0, torch.qint8))
    set_memory_budget(10_000)
    try:
        with pytest.raises(NetStudioError, match="Drawing this qint8 tensor would need 39.1 KB"):
            heatmap_view(q)
    finally:
        set_memory_budget(None)


def test_the_complex32_copy_budget_is_twelve_bytes_an_element_inclusive():
    full = torch.ones(4, 30, dtype=torch.complex64)
    full[2, 7] = 3 + 4j
    half = _quiet(lambda: full.to(torch.complex32))
    set_memory_budget(12 * 120)
    try:
        v = heatmap_view(half, max_shape=(2, 10))                         # blocks of 2 x 3: still drawn and read
        assert v.block == (2, 3) and v.values[1, 2] == 5.0 and (np.delete(v.values.ravel(), 12) == 1.0).all()
        index, value = _quiet(lambda: element_at(v, half, 1, 2))
        assert index == (2, 7) and abs(complex(value)) == 5.0 and v.index_at(1, 2) == (2, 6)
        set_memory_budget(12 * 120 - 1)
        with pytest.raises(NetStudioError, match="would need 1.4 KB"):
            heatmap_view(half, max_shape=(2, 10))
    finally:
        set_memory_budget(None)


def test_past_the_repeat_limit_plain_tensors_and_views_up_to_it_are_drawn_and_read_as_any(monkeypatch):
    monkeypatch.setattr(view2d, "REPEAT_LIMIT", 16)
    plain = torch.arange(20.0).reshape(4, 5)                          # nothing repeats: drawn at any size
    v = heatmap_view(plain, max_shape=(2, 3))
    assert v.block == (2, 2) and v.values.tolist() == [[6.0, 8.0, 9.0], [16.0, 18.0, 19.0]]
    assert element_at(v, plain, 1, 2)[0] == (3, 4) and v.index_at(1, 2) == (2, 4)
    kernels = (-torch.arange(4.0)).reshape(1, 1, 2, 2).expand(2, 2, 2, 2)  # exactly 16: laid out by copying
    v = heatmap_view(kernels, max_shape=(2, 2))
    assert v.tile == (2, 2) and v.values.tolist() == [[-3.0, -3.0], [-3.0, -3.0]]
    assert element_at(v, kernels, 1, 0)[0] == (1, 0, 1, 1) and v.index_at(1, 1) == (1, 1, 0, 0)


def test_views_that_repeat_in_ways_drawing_cannot_skip_are_limited(monkeypatch):
    monkeypatch.setattr(view2d, "REPEAT_LIMIT", 100)
    cube = torch.arange(100.0).reshape(1, 10, 10).expand(3, 10, 10)   # a slice of exactly 100 stored values
    assert heatmap_view(cube, slice_index=(2,)).values.tolist() == torch.arange(100.0).reshape(10, 10).tolist()
    windows = torch.arange(200.0).as_strided((150, 10), (1, 1))       # every row overlaps the next
    with pytest.raises(NetStudioError, match="This view repeats its stored values over 1,500 elements in a way"):
        heatmap_view(windows)
