"""Tensor layout and number text at their edges: what mutation testing found unchecked (issue #9)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from netstudio.errors import NetStudioError
from netstudio.tensors.layout import (collapse_repeats, describe, display_tensor, narrow_repeats, real_values, span,
                                      stored_count)
from netstudio.tensors.number_text import format_value, number, output_summary, tensor_text


@pytest.fixture(autouse=True)
def _quiet_prototype_tensors():
    """torch warns that sparse, quantized and complex32 tensors are experimental: not our concern.  A fixture
    rather than a filterwarnings mark, which the mutation tool's forked runs would not apply."""
    with warnings.catch_warnings():
        for message in ("Sparse invariant checks", "torch.quantize_per_tensor", "ComplexHalf support",
                        "Sparse CSR tensor support", "The PyTorch API of nested tensors"):
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        yield


# ---------------------------------------------------------------- number text

def test_numbers_are_six_significant_digits_or_a_dash():
    assert number(None) == "—"
    assert number(1 / 3) == "0.333333" and number(123456789.0) == "1.23457e+08" and number(0.0) == "0"


@pytest.mark.parametrize("dtype, value, text", [
    (torch.float32, 0.1, "0.1"),
    (torch.bfloat16, 0.1, str(np.float32(torch.tensor(0.1, dtype=torch.bfloat16).float().item()))),
    (torch.float16, 0.1, "0.1"),
    (torch.float64, 0.1, "0.1"),
    (torch.float64, 1 / 3, repr(1 / 3)),
    (torch.float32, 1 / 3, "0.33333334"),
    (torch.float16, 1 / 3, "0.3333"),
    (torch.int64, 7, "7"),
    (torch.bool, True, "True"),
])
def test_each_dtype_says_its_exact_value_briefly(dtype, value, text):
    assert format_value(torch.tensor(value, dtype=dtype)) == text


def test_small_float_formats_say_their_value_as_float32():
    if not hasattr(torch, "float8_e4m3fn"):
        pytest.skip("no float8 in this torch")
    value = torch.tensor(0.5).to(torch.float8_e4m3fn)
    assert format_value(value) == "0.5"
    tiny = torch.tensor(2.0**-16).to(torch.float8_e5m2)       # as a float32, not all of 1.52587890625e-05
    assert format_value(tiny) == "1.5258789e-05"


def test_a_quantized_value_says_the_float_it_stands_for():
    q = torch.quantize_per_tensor(torch.tensor([1.1, -0.3]), 0.1, 0, torch.qint8)
    assert format_value(q[0]) == "1.1" and format_value(q[1]) == "-0.3"


def test_tensor_text_is_numpy_with_four_decimals_shortened_past_400_values():
    assert tensor_text(torch.tensor([1 / 3, 2.0])) == "[0.3333 2.    ]"
    assert tensor_text(torch.tensor([1, 2], dtype=torch.int32)) == "[1 2]"
    assert tensor_text(torch.tensor([1.0], dtype=torch.float16)) == "[1.]"
    assert tensor_text(torch.tensor([0.5, 2.0], dtype=torch.bfloat16)) == "[0.5 2. ]"   # numpy has no bfloat16
    lines = tensor_text(torch.arange(20.0) * 1.5).splitlines()                      # wrapped at 100
    assert [len(line) for line in lines] == [94, 6] and lines[1] == " 28.5]"        # (101 would not wrap)
    assert tensor_text(torch.tensor([1e-9, 1.0])) == "[0. 1.]"                       # small ones suppressed
    assert "..." not in tensor_text(torch.arange(400.0))
    long = tensor_text(torch.arange(401.0))
    assert long.startswith("[  0.   1.   2.   3. ...") and long.endswith("397. 398. 399. 400.]")
    assert max(len(line) for line in tensor_text(torch.rand(40)).splitlines()) <= 100
    assert output_summary(torch.zeros(2, 1)) == "Output: shape (2, 1) · float32 · cpu"


# ---------------------------------------------------------------- layout facts

def test_bytes_of_dense_sparse_and_nested_tensors():
    assert describe(torch.zeros(3, 4)).nbytes == 48
    assert describe(torch.zeros(3, dtype=torch.float64)).nbytes == 24
    sparse = torch.sparse_coo_tensor(torch.tensor([[0, 2]]), torch.tensor([1.0, 2.0]), (5,))
    facts = describe(sparse)
    assert facts.nbytes == 2 * 4 + 2 * 8 and facts.stored == 2       # values, then int64 indices
    csr = torch.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse_csr()
    assert describe(csr).nbytes == 2 * 4 + 3 * 8 + 2 * 8
    meta = describe(torch.empty(2, 3, device="meta"))
    assert (meta.nbytes, meta.stored, meta.numel) == (0, 0, 6)
    nested = describe(torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3, dtype=torch.float32)]))
    assert (nested.shape, nested.numel, nested.nbytes, nested.layout) == ((2,), 5, 20, "nested")
    assert nested.note == "nested tensor of 2 tensors with 5 values"


def test_expanded_and_overlapping_views_count_what_they_store():
    row = torch.arange(3.0).expand(4, 3)
    assert collapse_repeats(row)[1] == 4 and collapse_repeats(row)[0].shape == (3,)
    plain = torch.zeros(2, 3)
    assert collapse_repeats(plain) == (plain, 1)
    empty_repeat = torch.zeros(0, 1).expand(0, 5)
    collapsed, repeat = collapse_repeats(empty_repeat)
    assert collapsed.shape == (0,) and repeat == 5
    nothing = torch.zeros(1).expand(0)          # stride 0 but no elements: a dimension to keep
    assert collapse_repeats(nothing)[0].shape == (0,) and collapse_repeats(nothing)[1] == 1
    assert span(torch.zeros(0)) == 0 and span(torch.zeros(5)) == 5 and span(torch.zeros(3, 4)[:, 0]) == 9
    assert span(torch.zeros(1)) == 1 and span(torch.zeros(3, 0)) == 0      # no element: no storage reached
    single = torch.arange(3.0).as_strided((1, 3), (0, 1))    # a size-1 dimension with stride 0 is dropped too
    assert collapse_repeats(single)[0].shape == (3,) and collapse_repeats(single)[1] == 1
    assert stored_count(row) == 3 and stored_count(torch.zeros(4)) is None and stored_count(torch.zeros(0)) is None
    windows = torch.arange(10.0).as_strided((4, 3), (1, 1))
    assert stored_count(windows) == 6
    facts = describe(row)
    assert facts.nbytes == 12 and facts.note == "expanded view of 3 stored values"
    assert describe(windows).note == "overlapping view of 6 stored values"
    assert describe(torch.zeros(1).expand(5)).note == "expanded view of 1 stored value"


def test_display_tensor_narrows_repeats_and_keeps_the_leading_part():
    ordinary = torch.rand(30, 40)
    assert display_tensor(ordinary, max_numel=10) is not None and display_tensor(ordinary, 10).shape == (30, 40)
    row = torch.arange(6.0).expand(5, 6)
    assert torch.equal(display_tensor(row, max_numel=6), torch.arange(6.0).reshape(1, 6))
    assert display_tensor(row, max_numel=5).shape == (1, 5)
    big = torch.arange(24.0).reshape(2, 3, 4).expand(3, 2, 3, 4)[:, :, :, :]
    assert display_tensor(big, max_numel=12).shape == (1, 1, 3, 4)
    assert display_tensor(big, max_numel=24).shape == (1, 2, 3, 4)
    sparse = torch.sparse_coo_tensor(torch.tensor([[0, 3]]), torch.tensor([1.0, 2.0]), (5,))
    assert torch.equal(display_tensor(sparse, max_numel=5), torch.tensor([1.0, 0, 0, 2.0, 0]))
    assert torch.equal(display_tensor(sparse, max_numel=4), torch.tensor([1.0, 2.0]))
    assert torch.equal(display_tensor(sparse, max_numel=1), torch.tensor([1.0]))
    q = torch.quantize_per_tensor(torch.tensor([0.5, 1.0]), 0.5, 0, torch.quint8)
    assert torch.equal(display_tensor(q, max_numel=2), torch.tensor([0.5, 1.0]))
    assert display_tensor(q, max_numel=1).is_quantized
    meta = torch.empty(1, device="meta").expand(5)            # no values to narrow: as it is
    assert display_tensor(meta).shape == (5,) and display_tensor(meta).device.type == "meta"


def test_narrowing_keeps_every_value_once_and_the_rank():
    t = torch.arange(3.0).reshape(3, 1).expand(3, 4)
    assert narrow_repeats(t).shape == (3, 1)
    assert narrow_repeats(torch.zeros(1).expand(1)).shape == (1,)
    assert narrow_repeats(torch.zeros(3)).shape == (3,)


def test_real_values_of_complex_and_quantized_tensors():
    z = torch.tensor([3 + 4j], dtype=torch.complex64)
    assert torch.equal(real_values(z), torch.tensor([5.0]))
    half = torch.tensor([3 + 4j, 60000 + 60000j], dtype=torch.complex64).to(torch.complex32)
    assert real_values(half).tolist() == [5.0, 84852.8125]       # beyond float16 (in which it would be inf)
    q = torch.quantize_per_tensor(torch.tensor([1.0]), 0.5, 0, torch.quint8)
    assert torch.equal(real_values(q), torch.tensor([1.0]))
    plain = torch.tensor([-1.0])
    assert real_values(plain) is plain


def test_a_quantized_tensor_torch_cannot_read_is_one_sentence():
    from netstudio.tensors.layout import dequantized

    class Broken:
        def dequantize(self):
            raise RuntimeError("zero point out of range")
    with pytest.raises(NetStudioError, match="invalid quantization parameters"):
        dequantized(Broken())


# ---------------------------------------------------------------- statistics at their edges

def test_empty_and_valueless_tensors_keep_their_dtype_and_count():
    from netstudio.tensors.stats import tensor_stats
    empty = tensor_stats(torch.zeros(0, 3, dtype=torch.float64))
    assert (empty.dtype, empty.numel, empty.zeros, empty.nans, empty.infs) == ("float64", 0, 0, 0, 0)
    empty_sparse = tensor_stats(torch.zeros(0, 3).to_sparse())      # no value is missing from nothing
    assert (empty_sparse.numel, empty_sparse.stored, empty_sparse.min) == (0, None, None)
    nans = tensor_stats(torch.full((2, 3), float("nan")).expand(4, 2, 3))
    assert (nans.dtype, nans.numel, nans.nans, nans.min, nans.stored) == ("float32", 24, 24, None, 6)
    scalar = tensor_stats(torch.tensor(2.5))
    assert (scalar.numel, scalar.min, scalar.mean) == (1, 2.5, 2.5)


def test_counts_of_an_expanded_view_are_weighted_by_its_repeats():
    from netstudio.tensors.stats import tensor_stats
    row = torch.tensor([float("nan"), float("inf"), 0.0, 2.0]).expand(3, 4)
    s = tensor_stats(row, bins=2)
    assert (s.nans, s.infs, s.zeros, s.numel, s.stored) == (3, 3, 3, 12, 4)
    assert sum(s.hist_counts) == 6 and s.mean == 1.0


def test_the_range_of_a_constant_tensor_is_half_its_size_either_side_at_least_half_a_unit():
    from netstudio.tensors.stats import tensor_stats
    ten = tensor_stats(torch.full((3,), 10.0), bins=2)
    assert ten.hist_edges == (5.0, 10.0, 15.0) and ten.hist_counts == (0, 3)
    zero = tensor_stats(torch.zeros(3), bins=2)
    assert zero.hist_edges == (-0.5, 0.0, 0.5)
    small = tensor_stats(torch.full((2,), 0.25), bins=2)
    assert small.hist_edges == (-0.25, 0.25, 0.75)


def test_a_tiny_spread_is_not_rounded_up():
    from netstudio.tensors.stats import tensor_stats
    x = torch.tensor([1.0, 1.0, 1.0, 1.001], dtype=torch.float64)
    assert tensor_stats(x).std == pytest.approx(float(x.std(unbiased=False)), rel=1e-9)


def test_subnormal_values_keep_their_mean():
    from netstudio.tensors.stats import tensor_stats
    s = tensor_stats(torch.tensor([5e-324, 5e-324], dtype=torch.float64))
    assert (s.min, s.max, s.mean) == (5e-324, 5e-324, 5e-324)


def test_a_sparse_tensor_of_positive_values_reaches_down_to_its_zeros():
    from netstudio.tensors.stats import tensor_stats
    sparse = torch.sparse_coo_tensor(torch.tensor([[1, 3]]), torch.tensor([2.0, 4.0]), (6,))
    s = tensor_stats(sparse, bins=2)
    assert (s.min, s.max, s.zeros, s.stored) == (0.0, 4.0, 4, 2) and s.hist_counts == (4, 2)
    negative = torch.sparse_coo_tensor(torch.tensor([[0]]), torch.tensor([-2.0]), (3,))
    assert (tensor_stats(negative).min, tensor_stats(negative).max) == (-2.0, 0.0)


def test_the_exact_limit_is_inclusive_and_only_overlapping_views_are_spanned(monkeypatch):
    import netstudio.tensors.stats as stats_module
    from netstudio.tensors.stats import tensor_stats
    monkeypatch.setattr(stats_module, "EXACT_LIMIT", 8)
    assert tensor_stats(torch.arange(16.0)).exact                      # no overlap: always exact
    overlapping = torch.arange(10.0).as_strided((3, 3), (1, 1))         # 9 elements over 5 values
    s = tensor_stats(overlapping)
    assert not s.exact and (s.stored, s.numel, s.max) == (5, 9, 4.0)
    monkeypatch.setattr(stats_module, "EXACT_LIMIT", 9)                 # at the limit: still exact
    assert tensor_stats(overlapping).exact
    monkeypatch.setattr(stats_module, "EXACT_LIMIT", 8)
    odd = torch.arange(40.0).as_strided((4, 3, 1), (2, 2, 3))           # a size-1 dimension with its own stride
    spanned = tensor_stats(odd)
    assert not spanned.exact and (spanned.stored, spanned.max, spanned.mean) == (6, 10.0, 5.0)


# ---------------------------------------------------------------- heatmap views

def test_the_layout_of_small_ranks_and_the_pixels_of_an_unreduced_view():
    from netstudio.tensors.view2d import element_at, heatmap_view
    scalar = heatmap_view(torch.tensor(3.0))
    assert scalar.layout_shape == (1, 1) and scalar.values.tolist() == [[3.0]] and scalar.source_index(0, 0) == ()
    row = heatmap_view(torch.tensor([1.0, -2.0, 3.0]))
    assert row.layout_shape == (1, 3) and row.values.tolist() == [[1.0, -2.0, 3.0]]
    t = torch.arange(6.0).reshape(2, 3)
    view = heatmap_view(t)
    index, value = element_at(view, t, 1, 2)
    assert index == (1, 2) and value == 5.0
    with pytest.raises(NetStudioError, match="outside the 2x3 heatmap"):
        view.block_at(0, 3)
    with pytest.raises(NetStudioError, match="outside"):
        view.block_at(2, 0)
    empty = heatmap_view(torch.zeros(0, 4))
    assert empty.values.shape == (0, 0) and empty.block == (1, 1) and empty.source_shape == (0, 4)


def test_a_view_is_a_copy_and_bools_are_numbers():
    from netstudio.tensors.view2d import heatmap_view
    t = torch.rand(3, 3)
    view = heatmap_view(t)
    before = view.values.copy()
    t.fill_(7.0)
    assert (view.values == before).all()
    assert heatmap_view(torch.tensor([[True, False]])).values.tolist() == [[1.0, 0.0]]


def test_block_shape_is_at_least_one_each_way():
    from netstudio.tensors.view2d import block_shape
    assert block_shape((0, 0), (10, 10)) == (1, 1)
    assert block_shape((20, 5), (10, 10)) == (2, 1)
    assert block_shape((21, 31), (10, 10)) == (3, 4)
    with pytest.raises(NetStudioError, match="at least one pixel"):
        block_shape((4, 4), (0, 4))


@pytest.mark.parametrize("make", [
    lambda: torch.arange(30.0).reshape(1, 30).expand(50, 30),           # repeated rows
    lambda: torch.arange(50.0).reshape(50, 1).expand(50, 30),           # repeated columns
    lambda: torch.arange(6.0).reshape(3, 1, 2, 1).expand(3, 40, 2, 3),  # kernels repeated over inputs
    lambda: torch.arange(6.0).reshape(2, 3, 1).expand(2, 3, 40),        # a slice of a 3-d view
])
@pytest.mark.parametrize("max_shape", [(5, 10), (10, 5), (7, 7), (100, 100)])
def test_views_that_repeat_are_drawn_as_their_dense_copies_are(monkeypatch, make, max_shape):
    import netstudio.tensors.view2d as view2d
    t = make()
    dense = view2d.heatmap_view(t.contiguous(), max_shape=max_shape)
    monkeypatch.setattr(view2d, "REPEAT_LIMIT", 100)    # take the repeating path even for these small views
    view = view2d.heatmap_view(t, max_shape=max_shape)
    assert view.values.shape == dense.values.shape and (view.values == dense.values).all()
    assert (view.block, view.tile, view.slice_index) == (dense.block, dense.tile, dense.slice_index)


def test_a_4d_view_whose_kernels_cannot_be_laid_out_without_copying_is_refused(monkeypatch):
    import netstudio.tensors.view2d as view2d
    monkeypatch.setattr(view2d, "REPEAT_LIMIT", 100)
    t = torch.arange(8.0).reshape(1, 2, 2, 2).expand(30, 2, 2, 2)
    with pytest.raises(NetStudioError, match="This 4-d view repeats its stored values over 240 elements"):
        view2d.heatmap_view(t)


def test_the_repeat_limit_is_inclusive(monkeypatch):
    import netstudio.tensors.view2d as view2d
    monkeypatch.setattr(view2d, "REPEAT_LIMIT", 12)
    t = torch.arange(4.0).reshape(1, 4).expand(3, 4)    # exactly 12 elements: the ordinary path
    assert view2d.heatmap_view(t).values.tolist() == [[0.0, 1.0, 2.0, 3.0]] * 3
    sparse = torch.sparse_coo_tensor(torch.tensor([[0], [1]]), torch.tensor([5.0]), (3, 4))
    assert view2d.heatmap_view(sparse).values[0, 1] == 5.0
    big = torch.sparse_coo_tensor(torch.tensor([[0], [1]]), torch.tensor([5.0]), (13, 1))
    with pytest.raises(NetStudioError, match="13 elements, too many"):
        view2d.heatmap_view(big)
