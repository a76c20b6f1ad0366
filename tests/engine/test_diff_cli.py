"""``netstudio diff A B``: relative change per tensor, largest first; one-sided and reshaped tensors listed."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from tests.engine.train_helpers import cli


def _pair(tmp_path, suffix=".safetensors"):
    a = {"big": torch.ones(100), "small": torch.full((3, 4), 2.0), "same": torch.arange(6.0),
         "gone": torch.zeros(2), "wide": torch.zeros(2, 3), "zero": torch.zeros(3), "ints": torch.arange(4)}
    b = {"big": torch.ones(100) * 1.5, "small": torch.full((3, 4), 2.2), "same": torch.arange(6.0),
         "new": torch.zeros(5), "wide": torch.zeros(3, 2), "zero": torch.ones(3), "ints": torch.arange(4) * 2}
    pa, pb = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    for path, tensors in ((pa, a), (pb, b)):
        save_file(tensors, str(path)) if suffix == ".safetensors" else torch.save(tensors, path)
    return pa, pb


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_json_lists_every_kind_of_difference(tmp_path, capsys, suffix):
    a, b = _pair(tmp_path, suffix)
    code, out, err = cli(["diff", a, b, "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    changed = {c["name"]: c["relative_change"] for c in result["changed"]}
    assert [c["name"] for c in result["changed"]] == ["zero", "ints", "big", "small", "same"]
    assert changed["zero"] == "inf" and changed["same"] == 0.0
    assert changed["big"] == pytest.approx(0.5) and changed["small"] == pytest.approx(0.1)
    assert changed["ints"] == pytest.approx(1.0)
    assert result["only_in_a"] == [{"name": "gone", "shape": [2]}]
    assert result["only_in_b"] == [{"name": "new", "shape": [5]}]
    assert result["shape_differs"] == [{"name": "wide", "a": [2, 3], "b": [3, 2]}]


def test_table_is_sorted_and_names_are_escaped(tmp_path, capsys):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_file({"x\x1b[2J": torch.ones(4), "y": torch.ones(4)}, str(a))
    save_file({"x\x1b[2J": torch.ones(4) * 3, "y": torch.ones(4) * 1.1}, str(b))
    code, out, _ = cli(["diff", a, b], capsys)
    lines = out.splitlines()
    assert code == 0 and "\x1b" not in out
    assert lines[1].split()[0] == "2.0000e+00" and lines[2].split()[1] == "y"


def test_pickled_code_and_bad_files_are_refused(tmp_path, capsys):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    good = tmp_path / "good.safetensors"
    save_file({"w": torch.ones(2)}, str(good))
    evil = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": Payload()}, evil)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Payload()))
    for other in (evil, raw, tmp_path / "missing.pt", tmp_path):
        code, _, err = cli(["diff", good, other], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not marker.exists()


def test_norms_add_up_over_chunks(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("netstudio.training.diff.CHUNK", 100)
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    w = torch.randn(64, 33)
    save_file({"w": w, "h": w.half()}, str(a))
    save_file({"w": w + 0.01, "h": (w + 0.01).half()}, str(b))
    code, out, _ = cli(["diff", a, b, "--json"], capsys)
    rel = {c["name"]: c["relative_change"] for c in json.loads(out)["changed"]}
    expected = (0.01 * w.numel() ** 0.5) / w.norm().item()
    assert code == 0 and rel["w"] == pytest.approx(expected, rel=1e-5) and rel["h"] == pytest.approx(expected, rel=1e-2)
