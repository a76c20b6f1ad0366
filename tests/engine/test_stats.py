"""tensor_stats: values against numpy, non-finite handling, dtypes, exact histograms."""

import json

import numpy as np
import pytest
import torch

import netstudio.tensors.stats as stats_module
from netstudio.errors import NetStudioError
from netstudio.tensors.stats import tensor_stats

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


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
