"""``diff_checkpoints`` agrees with a plain float64 computation of ‖A‖, ‖B − A‖ and their ratio, for
every dtype, over chunk and row boundaries, and keeps listing what it cannot compare."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import save_file

import netstudio.training.diff as diff_module
from netstudio.training.diff import diff_checkpoints


def _pairs() -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(7)

    def randn(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    w32 = randn(37, 53)
    w16 = randn(61, 29, scale=0.05)
    wbf = randn(7, 3, 5, scale=3.0)
    w64 = randn(1000).double()
    big = randn((1 << 21) + 4099)          # more than one default chunk, and a tail shorter than a row
    a = {"f32": w32, "f16": w16.half(), "bf16": wbf.bfloat16(), "f64": w64, "big": big,
         "ints": torch.arange(-50, 50, dtype=torch.int32), "flags": torch.tensor([True, False, True]),
         "mixed": w32.half(), "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 4),
         "zero_same": torch.zeros(10), "zero_moved": torch.zeros(4, 4), "same": w32.clone(),
         "tiny": torch.full((8,), 1e-3), "gone": torch.ones(3), "wide": torch.ones(2, 6)}
    b = {"f32": w32 + randn(37, 53, scale=1e-3), "f16": (w16 + randn(61, 29, scale=1e-2)).half(),
         "bf16": (wbf * 1.01).bfloat16(), "f64": w64 + 1e-9, "big": big + randn(big.numel(), scale=1e-4),
         "ints": torch.arange(-50, 50, dtype=torch.int32) * 3, "flags": torch.tensor([True, True, False]),
         "mixed": w32 + 0.5, "scalar": torch.tensor(-2.5), "empty": torch.zeros(0, 4),
         "zero_same": torch.zeros(10), "zero_moved": torch.full((4, 4), 0.25), "same": w32.clone(),
         "tiny": torch.full((8,), 1.5e-3), "new": torch.ones(2), "wide": torch.ones(6, 2)}
    return a, b


def _expected(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float, float]:
    """(‖a‖, ‖b − a‖, relative change) straight from the definition, in float64."""
    x, y = a.double(), b.double()
    norm, delta = math.sqrt(float((x * x).sum())), math.sqrt(float(((y - x) ** 2).sum()))
    return norm, delta, (delta / norm if norm else (math.inf if delta else 0.0))


def _write(tmp_path, suffix: str, big: bool = True):
    a, b = _pairs()
    if not big:
        del a["big"], b["big"]
    pa, pb = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    for path, tensors in ((pa, a), (pb, b)):
        save_file(tensors, str(path)) if suffix == ".safetensors" else torch.save(tensors, path)
    return a, b, pa, pb


def _check(a: dict, b: dict, pa, pb) -> None:
    result = diff_checkpoints(str(pa), str(pb))
    changes = {c.name: c for c in result.changes}
    assert set(changes) == {n for n in a if n in b and a[n].shape == b[n].shape}
    for name, change in changes.items():
        norm, delta, relative = _expected(a[name], b[name])
        assert change.shape == tuple(a[name].shape)
        assert change.norm == pytest.approx(norm, rel=1e-6, abs=0), name
        assert change.delta == pytest.approx(delta, rel=1e-6, abs=0), name
        assert change.relative == pytest.approx(relative, rel=1e-6, abs=0), name
    # an all-zero tensor: infinite when it moved, 0 when it did not; no change at all is exactly 0
    assert changes["zero_moved"].relative == math.inf and changes["zero_same"].relative == 0.0
    assert changes["same"].delta == 0.0 and changes["empty"].relative == 0.0
    assert [c.name for c in result.changes] == sorted(changes, key=lambda n: (-changes[n].relative, n))
    assert [e.name for e in result.only_a] == ["gone"] and [e.name for e in result.only_b] == ["new"]
    assert result.reshaped == [("wide", (2, 6), (6, 2))] and result.skipped == []


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_relative_changes_match_a_float64_computation(tmp_path, suffix):
    _check(*_write(tmp_path, suffix))


@pytest.mark.parametrize("chunk, row", [(64, 16), (100, 7), (1 << 20, 1 << 14), (5, 64)])
def test_chunk_and_row_boundaries_change_nothing(tmp_path, monkeypatch, chunk, row):
    monkeypatch.setattr(diff_module, "CHUNK", chunk)
    monkeypatch.setattr(diff_module, "ROW", row)
    _check(*_write(tmp_path, ".safetensors", big=chunk > 1000))   # the big tensor only at the real sizes
