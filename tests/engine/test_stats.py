"""tensor_stats: values against numpy, non-finite handling, dtypes, exact histograms."""

import json
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import netstudio.tensors.stats as stats_module
from netstudio.errors import NetStudioError
from netstudio.tensors.stats import tensor_stats
from tests.engine.test_hostile_tensor_files_builders import run_capped

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def monkeypatch_session():
    """A MonkeyPatch usable inside hypothesis examples (function-scoped fixtures are not reset per example)."""
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.mark.parametrize("device", DEVICES)
def test_matches_numpy_on_finite_data(device):
    x = torch.randn(300, 7, generator=torch.Generator().manual_seed(1)) * 3 + 1
    x[0, :3] = 0
    s = tensor_stats(x.to(device), bins=10)
    ref = x.double().numpy()
    assert s.numel == 2100 and s.dtype == "float32"
    assert s.min == pytest.approx(ref.min()) and s.max == pytest.approx(ref.max())
    assert s.mean == pytest.approx(ref.mean(), abs=1e-6) and s.std == pytest.approx(ref.std(), rel=1e-6)
    assert (s.zeros, s.nans, s.infs) == (3, 0, 0)
    assert len(s.hist_counts) == 10 and len(s.hist_edges) == 11 and sum(s.hist_counts) == 2100
    assert s.hist_edges[0] == s.min and s.hist_edges[-1] == s.max


def test_histogram_matches_numpy_away_from_bin_edges():
    values = torch.tensor([0.5, 1.5, 1.5, 2.5, 3.5, 3.5, 3.5, 0.0, 4.0])  # edges at 0, 1, 2, 3, 4
    s = tensor_stats(values, bins=4)
    counts, edges = np.histogram(values.numpy(), bins=4)
    assert s.hist_counts == tuple(counts.tolist()) == (2, 2, 1, 4)
    assert s.hist_edges == tuple(edges.tolist())


def test_non_finite_values_are_counted_not_averaged():
    x = torch.tensor([1.0, 3.0, float("nan"), float("inf"), float("-inf"), 0.0, float("nan")])
    s = tensor_stats(x, bins=3)
    assert (s.nans, s.infs, s.zeros) == (2, 2, 1)
    assert (s.min, s.max, s.mean) == (0.0, 3.0, pytest.approx(4 / 3))
    assert sum(s.hist_counts) == 3


@pytest.mark.parametrize(
    "x",
    [torch.empty(0), torch.full((4,), float("nan")), torch.tensor([float("inf"), float("nan")])],
    ids=["empty", "all-nan", "nan-and-inf"],
)
def test_no_finite_values_gives_none_fields_and_valid_json(x):
    s = tensor_stats(x)
    assert s.min is s.max is s.mean is s.std is None
    assert s.hist_counts == () and s.hist_edges == ()
    assert s.nans + s.infs == x.numel()
    data = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert data["min"] is None and data["hist_counts"] == []


def test_constant_tensor_gets_a_range_around_its_value():
    s = tensor_stats(torch.full((5,), 7.0), bins=4)
    assert s.std == 0.0 and s.hist_edges[0] < 7.0 < s.hist_edges[-1] and sum(s.hist_counts) == 5


@pytest.mark.parametrize(
    ("x", "expected_mean"),
    [
        (torch.tensor([1.5, -2.5, 4.0]).to(torch.bfloat16), 1.0),
        (torch.tensor([1.5, -2.5, 4.0]).to(torch.float16), 1.0),
        (torch.tensor([True, False, True, True]), 0.75),
        (torch.tensor([-128, 0, 127], dtype=torch.int8), -1 / 3),
        (torch.tensor([2**40 + 1, 2**40 + 3], dtype=torch.int64), 2**40 + 2),
        (torch.tensor([3 + 4j, 0j]), 2.5),
    ],
    ids=["bf16", "f16", "bool", "int8", "int64", "complex"],
)
def test_other_dtypes(x, expected_mean):
    s = tensor_stats(x, bins=4)
    assert s.mean == pytest.approx(expected_mean) and sum(s.hist_counts) == x.numel()
    assert s.dtype == str(x.dtype).removeprefix("torch.")


def test_large_integers_keep_exact_min_and_max():
    s = tensor_stats(torch.tensor([2**40 + 1, 2**40 + 3], dtype=torch.int64))
    assert (s.min, s.max) == (2**40 + 1, 2**40 + 3)


def test_histogram_counts_are_exact_across_chunks(monkeypatch):
    x = torch.randn(1000, generator=torch.Generator().manual_seed(3))
    whole = tensor_stats(x, bins=16).hist_counts
    monkeypatch.setattr(stats_module, "_HIST_CHUNK", 7)
    assert tensor_stats(x, bins=16).hist_counts == whole and sum(whole) == 1000


def test_parameters_are_read_without_autograd():
    s = tensor_stats(torch.nn.Parameter(torch.ones(3)))
    assert s.mean == 1.0 and s.std == 0.0


def test_bins_must_be_positive():
    with pytest.raises(NetStudioError):
        tensor_stats(torch.ones(3), bins=0)


# ---------------------------------------------------------------- tensors from hostile or unusual files


def reference(x: torch.Tensor, bins: int = 8):
    """The statistics of an ordinary dense copy (only for small tensors)."""
    return tensor_stats(x.contiguous(), bins=bins)


def test_giant_views_are_read_by_what_they_store():
    """2**40-element views of a few stored values: 4 TB or hours if read element by element, so the
    checks run in a capped child process (a regression fails instead of taking the machine)."""
    run_capped("""
from netstudio.tensors.stats import tensor_stats
s = tensor_stats(torch.ones(1).expand(2**40), bins=4)
assert (s.numel, s.stored, s.min, s.max, s.mean, s.std) == (2**40, 1, 1.0, 1.0, 1.0, 0.0), s
assert sum(s.hist_counts) == 2**40
base = torch.tensor([1.0, float("nan"), float("inf"), 0.0, -2.0])
s = tensor_stats(base.expand(3, 2**38, 5), bins=3)
assert (s.nans, s.infs, s.zeros, s.stored) == (3 * 2**38, 3 * 2**38, 3 * 2**38, 5), s
assert (s.min, s.max, abs(s.mean + 1 / 3) < 1e-12, sum(s.hist_counts)) == (-2.0, 1.0, True, 9 * 2**38), s
storage = torch.arange(2.0**21)
s = tensor_stats(storage.as_strided((2**20, 2**20), (1, 1)), bins=4)
assert not s.exact and (s.stored, s.numel, s.min, s.max) == (2**21 - 1, 2**40, 0.0, 2**21 - 2), s
s = tensor_stats(torch.arange(2.0**22).as_strided((2**20, 2**20), (2, 2)))  # every other value only
assert (s.max, s.stored, s.mean) == (2**22 - 4, 2**21 - 1, 2**21 - 2), s
huge = torch.sparse_coo_tensor(torch.tensor([[0, 1], [5, 2**29]]), torch.tensor([3.0, -4.0]), (2**30, 2**30))
s = tensor_stats(huge)  # a mean of -1 / 2**60: a running-mean update would round it to zero
assert (s.numel, s.zeros, s.stored) == (2**60, 2**60 - 2, 2) and abs(s.mean * 2**60 + 1) < 1e-9, s
q = torch.quantize_per_tensor(torch.tensor([[-1.0, 0.5], [2.0, 0.0]]), 0.5, 0, torch.qint8)
s = tensor_stats(q.expand(2**30, 2, 2))
assert (s.stored, s.mean, s.zeros) == (4, 0.375, 2**30), s
""")


@pytest.mark.parametrize(
    "make",
    [lambda g: torch.randn(1, 6, generator=g).expand(4, 6),
     lambda g: torch.randn(6, 2, generator=g).t()[:, None, :].expand(2, 3, 6),
     lambda g: torch.randn(6, 2, generator=g)[:, :1].expand(6, 5)[::2]],
    ids=["expand", "expand-of-transpose", "strided-expand"],
)
def test_small_repeating_views_match_their_dense_copies(make):
    view = make(torch.Generator().manual_seed(2))
    got, want = tensor_stats(view, bins=8), reference(view)
    assert got.stored is not None and got.stored < view.numel()
    assert got.hist_counts == want.hist_counts and (got.zeros, got.nans, got.infs) == (want.zeros, want.nans, want.infs)
    assert got.mean == pytest.approx(want.mean) and got.std == pytest.approx(want.std)


def test_an_overlapping_view_is_exact_when_small_and_described_by_its_span_beyond_the_limit(monkeypatch):
    windows = torch.arange(2.0**12).as_strided((1000, 1000), (1, 1))  # 1e6 elements over 1999 values
    s = tensor_stats(windows, bins=4)
    assert s.exact and s.stored == 1999 and s.hist_counts == reference(windows, bins=4).hist_counts
    monkeypatch.setattr(stats_module, "EXACT_LIMIT", 10_000)
    s = tensor_stats(windows, bins=4)
    assert not s.exact and (s.stored, s.numel, s.min, s.max, s.mean) == (1999, 10**6, 0.0, 1998.0, 999.0)
    evens = torch.arange(2.0**12).as_strided((1000, 1000), (2, 2))  # reaches every other value only
    s = tensor_stats(evens)
    assert (s.max, s.stored, s.mean) == (3996.0, 1999, 1998.0)


def test_sparse_tensors_count_their_implicit_zeros():
    dense = torch.tensor([[0.0, 3.0, 0.0], [-4.0, 0.0, float("nan")]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that CSR and CSC are in beta
        layouts = (dense.to_sparse(), dense.to_sparse_csr(), dense.to_sparse_csc())
    for sparse in layouts:
        got, want = tensor_stats(sparse, bins=4), reference(dense, bins=4)
        assert got.stored == 3 and (got.zeros, got.nans, got.min, got.max) == (want.zeros, 1, -4.0, 3.0)
        assert got.mean == pytest.approx(want.mean) and got.std == pytest.approx(want.std)
        assert got.hist_counts == want.hist_counts


def test_quantized_nested_and_complex32_tensors_are_read_as_values():
    x = torch.tensor([[-1.0, 0.5], [2.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that these are deprecated or experimental
        q = torch.quantize_per_tensor(x, 0.5, 0, torch.qint8)
        nested = torch.nested.nested_tensor([x[0], x.reshape(-1)])
        with_empty = torch.nested.nested_tensor([torch.zeros(0), x[1]])
        half = torch.tensor([3 + 4j, 0j]).to(torch.complex32)
    assert tensor_stats(q).mean == reference(x).mean and tensor_stats(q).dtype == "qint8"
    assert tensor_stats(q.expand(3, 2, 2)).stored == 4
    assert tensor_stats(nested).mean == pytest.approx(torch.cat([x[0], x.reshape(-1)]).mean().item())
    assert tensor_stats(half).max == 5.0
    empty_part = tensor_stats(with_empty)                 # an empty part adds nothing, and breaks nothing
    assert (empty_part.numel, empty_part.min, empty_part.max, empty_part.zeros) == (2, 0.0, 2.0, 1)


#: Tensors with no values to read: a meta tensor (shape and dtype only) and raw bits.
VALUELESS = pytest.mark.parametrize("x", [torch.empty(3, 4, device="meta"),
                                          torch.zeros(3, dtype=torch.uint8).view(torch.bits8)], ids=["meta", "bits8"])


def assert_refused_in_one_sentence(read, x) -> None:
    """``read(x)`` raises a NetStudioError of one sentence."""
    with pytest.raises(NetStudioError) as info:
        read(x)
    assert str(info.value).endswith(".") and "\n" not in str(info.value)


@VALUELESS
def test_tensors_without_values_are_one_sentence(x):
    assert_refused_in_one_sentence(tensor_stats, x)


def test_extreme_values_neither_overflow_nor_vanish():
    x = torch.tensor([3e38, 3e38, -3e38, 3e38])
    s, ref = tensor_stats(x), x.double()
    assert s.mean == pytest.approx(ref.mean().item()) and s.std == pytest.approx(ref.std(correction=0).item())
    big = torch.tensor([1.7e308, 1.7e308, -1.7e308], dtype=torch.float64)
    s = tensor_stats(big, bins=2)
    assert s.mean == pytest.approx(1.7e308 / 3) and s.std == pytest.approx(1.7e308 / 3 * 8**0.5)
    assert s.hist_edges == (-1.7e308, 0.0, 1.7e308) and s.hist_counts == (1, 2)
    tiny = torch.tensor([1e-30, 3e-30])
    assert tensor_stats(tiny).std == pytest.approx(1e-30)
    many = torch.full((2**20 + 2,), 3e38)  # beyond the size summed in float64 anyway
    many[::2] = -3e38
    s = tensor_stats(many, bins=2)
    assert s.mean == pytest.approx(0.0, abs=1e33) and s.std == pytest.approx(3e38, rel=1e-6)
    small = torch.full((2**20 + 2,), 1e-30)
    small[::2] = 3e-30
    assert tensor_stats(small).std == pytest.approx(1e-30, rel=1e-6)


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 30), cols=st.integers(1, 30), chunk=st.integers(1, 50), seed=st.integers(0, 2**16),
       transpose=st.booleans())
def test_reading_in_pieces_gives_the_same_statistics(monkeypatch_session, rows, cols, chunk, seed, transpose):
    x = torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))
    x[0, 0] = float("nan") if seed % 3 == 0 else x[0, 0]
    x = x.t() if transpose else x
    whole = tensor_stats(x, bins=5)
    monkeypatch_session.setattr(stats_module, "_CHUNK", chunk)
    try:
        pieces = tensor_stats(x, bins=5)
    finally:
        monkeypatch_session.undo()
    assert pieces.hist_counts == whole.hist_counts and (pieces.nans, pieces.zeros) == (whole.nans, whole.zeros)
    assert (pieces.min, pieces.max) == (whole.min, whole.max)
    if whole.mean is None:
        assert pieces.mean is pieces.std is None
    else:  # one float32 piece is summed by torch in float32 steps, many are combined in float64
        assert pieces.mean == pytest.approx(whole.mean, rel=1e-6, abs=1e-6)
        assert pieces.std == pytest.approx(whole.std, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("shape", [(3, 4, 5), (6, 2), (20,), (2, 3, 1, 9)])
def test_no_piece_read_is_larger_than_a_chunk_and_each_value_is_read_once(monkeypatch, shape):
    monkeypatch.setattr(stats_module, "_CHUNK", 8)
    x = torch.arange(float(np.prod(shape))).reshape(shape)
    pieces = list(stats_module._pieces(x))
    assert max(p.numel() for p in pieces) <= 8 and all(p.ndim == 1 for p in pieces)
    assert torch.equal(torch.cat(pieces), x.reshape(-1))


def test_values_up_to_two_to_the_500_are_used_unscaled():
    s = tensor_stats(torch.tensor([2.0**500, 2.0**-600], dtype=torch.float64), bins=2)
    assert s.hist_edges[0] == 2.0**-600 and s.hist_edges[-1] == 2.0**500 and s.hist_counts == (1, 1)


def test_a_million_float32_values_have_an_exact_mean():
    a, b = np.float32(0.1), np.float32(0.2)
    x = torch.tensor([a, b]).repeat(2**19)               # 2**20 values, summed in float64
    assert tensor_stats(x).mean == (float(a) + float(b)) / 2
