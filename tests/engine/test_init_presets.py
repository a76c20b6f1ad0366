"""The seed's four initialization examples, as the Initialize panel offers them, applied to a network."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netstudio.errors import NetStudioError
from netstudio.init import apply_assignments
from netstudio.init.presets import PRESETS, linear_paths
from netstudio.init.preview import describe, histogram

PRESET = {p.key: p for p in PRESETS}


def net() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 1))


def apply(key: str, module: nn.Module) -> nn.Module:
    apply_assignments(module, PRESET[key].build(module), seed=0)
    return module


def test_normal_with_zero_bias():
    m = apply("normal", net())
    assert all(torch.all(m[i].bias == 0) for i in (0, 2, 4))
    assert 0.005 < m[0].weight.std().item() < 0.015


def test_constant_one_with_zero_bias():
    m = apply("constant", net())
    assert all(torch.all(m[i].weight == 1) and torch.all(m[i].bias == 0) for i in (0, 2, 4))


def test_xavier_on_the_first_layer_and_42_on_the_last():
    m = apply("xavier_42", net())
    bound = (6 / (4 + 64)) ** 0.5
    assert m[0].weight.abs().max().item() <= bound and m[0].weight.abs().max().item() > bound / 2
    assert torch.all(m[4].weight == 42)
    assert not torch.all(m[2].weight == 42)
    with pytest.raises(NetStudioError, match="at least two Linear layers"):
        PRESET["xavier_42"].build(nn.Sequential(nn.Linear(2, 2)))


def test_the_books_custom_initializer_zeroes_small_values():
    w = apply("custom", net())[0].weight
    assert torch.all((w == 0) | (w.abs() >= 5)) and w.abs().max().item() <= 10
    assert (w == 0).any() and (w != 0).any()


def test_linear_paths_and_preview_numbers():
    assert linear_paths(net()) == ["0", "2", "4"]
    edges, (counts,) = histogram(torch.arange(10.0), bins=5)
    assert list(edges) == [0.0, 1.8, 3.6, 5.4, 7.2, 9.0] and list(counts) == [2, 2, 2, 2, 2]
    assert describe(torch.tensor([0.0, 2.0])) == "min 0 · max 2 · mean 1 · std 1 · zeros 1/2"
