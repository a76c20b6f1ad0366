"""``netstudio export`` and ``netstudio inspect``: exit codes 0/1/2, one-line errors, never a traceback."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from netstudio.cli import main
from netstudio.export import onnx_available
from netstudio.tensors.stats import tensor_stats


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("netstudio: ") and "Traceback" not in err


# ---------------------------------------------------------------- export


def test_export_prints_the_paths(capsys, examples_dir, tmp_path):
    code, out, err = run(capsys, "export", examples_dir / "mlp.netstudio", tmp_path / "new" / "folder")
    assert (code, err) == (0, "")
    assert out.split() == [str(tmp_path / "new" / "folder" / "model.py"),
                           str(tmp_path / "new" / "folder" / "model.safetensors")]


def test_export_of_code_blocks_needs_trust(capsys, examples_dir, tmp_path):
    code, out, err = run(capsys, "export", examples_dir / "centered.netstudio", tmp_path)
    assert code == 1 and out == ""
    assert err.strip() == "error: 1: code block CenteredLayer is disabled because the project is not trusted"
    assert list(tmp_path.iterdir()) == []
    assert run(capsys, "export", examples_dir / "centered.netstudio", tmp_path, "--trust")[0] == 0


def test_export_of_an_invalid_graph_exits_1(capsys, examples_dir, tmp_path):
    text = (examples_dir / "mlp.netstudio").read_text().replace('"in_features": 256', '"in_features": 128')
    (tmp_path / "bad.netstudio").write_text(text)
    code, out, err = run(capsys, "export", tmp_path / "bad.netstudio", tmp_path / "out")
    assert code == 1 and out == ""
    assert "error: 2: Linear expects 128 input features, receives 256" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content", [b"", b"garbage", b"{"])
def test_export_of_an_unreadable_project_exits_2(capsys, tmp_path, content):
    (tmp_path / "x.netstudio").write_bytes(content)
    code, out, err = run(capsys, "export", tmp_path / "x.netstudio", tmp_path / "out")
    assert code == 2 and out == "" and one_line_error(err)


def test_export_into_a_file_exits_2(capsys, examples_dir, tmp_path):
    (tmp_path / "taken").write_text("not a folder")
    code, out, err = run(capsys, "export", examples_dir / "mlp.netstudio", tmp_path / "taken")
    assert code == 2 and out == "" and one_line_error(err)


def test_export_bad_arguments_exit_2(capsys, examples_dir):
    assert run(capsys, "export", examples_dir / "mlp.netstudio")[0] == 2
    assert run(capsys, "inspect")[0] == 2


@pytest.mark.skipif(onnx_available(), reason="the onnx package is installed")
def test_export_onnx_without_the_package_exits_2_before_writing(capsys, examples_dir, tmp_path):
    code, out, err = run(capsys, "export", examples_dir / "mlp.netstudio", tmp_path / "out", "--onnx")
    assert code == 2 and out == "" and one_line_error(err) and "onnx package" in err
    assert not (tmp_path / "out").exists()


def test_export_onnx_with_the_package(capsys, examples_dir, tmp_path):
    pytest.importorskip("onnx")
    code, out, _ = run(capsys, "export", examples_dir / "mlp.netstudio", tmp_path, "--onnx")
    assert code == 0 and out.split()[-1] == str(tmp_path / "model.onnx")
    assert (tmp_path / "model.onnx").stat().st_size > 0


# ---------------------------------------------------------------- inspect


def rows(out: str) -> dict[str, list[str]]:
    """Table rows by tensor name (the header is the second line)."""
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["Name", "Shape", "Dtype"]
    return {line.split()[0]: line.split() for line in lines[2:] if not line.startswith("Total")}


def test_inspect_safetensors_lists_every_tensor_with_stats(capsys, tmp_path):
    tensors = {"a.weight": torch.arange(12, dtype=torch.float32).reshape(3, 4),
               "a.bias": torch.tensor([1.0, float("nan"), float("inf"), -2.0]),
               "steps": torch.tensor(7, dtype=torch.int64)}
    save_file(tensors, tmp_path / "w.safetensors")
    code, out, err = run(capsys, "inspect", tmp_path / "w.safetensors")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "w.safetensors (safetensors)"
    table = rows(out)
    assert set(table) == set(tensors)
    assert table["a.weight"] == ["a.weight", "(3,", "4)", "float32", "0", "11", "5.5", "3.45205", "0", "0"]
    assert table["a.bias"] == ["a.bias", "(4,)", "float32", "-2", "1", "-0.5", "1.5", "1", "1"]
    assert table["steps"][1:3] == ["()", "int64"]
    assert out.splitlines()[-1] == "Total: 3 tensors, 17 elements, 72 bytes"


def test_inspect_pt_state_dict_with_shared_tensors(capsys, tmp_path, examples_dir):
    from netstudio.compiler import compile_project
    from netstudio.export import materialize
    from netstudio.serialization import load_project
    project = load_project(examples_dir / "tied.netstudio")
    net = compile_project(project)
    materialize(project, net)
    torch.save(net.state_dict(), tmp_path / "tied.pt")
    code, out, _ = run(capsys, "inspect", tmp_path / "tied.pt")
    assert code == 0
    table = rows(out)
    assert list(table) == list(net.state_dict())
    for name, value in net.state_dict().items():
        shape = "(" + ", ".join(map(str, value.shape)) + ("," if value.dim() == 1 else "") + ")"
        assert " ".join(table[name][1:1 + len(shape.split())]) == shape
    assert table["4.weight"][-4:] == ["same", "tensor", "as", "2.weight"]
    # the shared layer is counted once: 20*8+8 + 8*8+8 + 8+1
    assert out.splitlines()[-1] == "Total: 8 tensors, 249 elements, 996 bytes (shared tensors counted once)"


def test_inspect_json(capsys, tmp_path):
    weight = torch.randn(5, 3)
    torch.save({"model": {"w": weight}, "epoch": 4, "note": "best"}, tmp_path / "ckpt.pth")
    code, out, _ = run(capsys, "inspect", tmp_path / "ckpt.pth", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["format"] == "torch-zip"
    (entry,) = data["tensors"]
    stats = tensor_stats(weight)
    assert entry["name"] == "model.w" and entry["shape"] == [5, 3] and entry["dtype"] == "float32"
    assert entry["numel"] == 15 and entry["nbytes"] == 60 and entry["alias_of"] is None
    for key in ("min", "max", "mean", "std"):
        assert entry[key] == pytest.approx(getattr(stats, key))
    assert (entry["nans"], entry["infs"]) == (0, 0)
    assert data["values"] == [{"name": "epoch", "value": 4}, {"name": "note", "value": "best"}]
    assert data["totals"] == {"tensors": 1, "numel": 15, "nbytes": 60}


def test_inspect_json_of_an_empty_or_all_nan_tensor(capsys, tmp_path):
    save_file({"empty": torch.zeros(0), "nan": torch.full((2,), float("nan"))}, tmp_path / "x.safetensors")
    code, out, _ = run(capsys, "inspect", tmp_path / "x.safetensors", "--json")
    assert code == 0
    by_name = {t["name"]: t for t in json.loads(out)["tensors"]}
    assert by_name["empty"]["min"] is None and by_name["nan"]["nans"] == 2 and by_name["nan"]["mean"] is None


class Payload:
    """Unpickling this would create a file: the marker the test looks for."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("kind", ["pickle", "torch-zip"])
def test_inspect_refuses_a_malicious_pickle(capsys, tmp_path, kind):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    if kind == "pickle":
        path.write_bytes(pickle.dumps({"w": Payload(marker)}, protocol=2))
    else:
        torch.save({"w": torch.ones(2), "x": Payload(marker)}, path)
    code, out, err = run(capsys, "inspect", path)
    assert code == 2 and out == "" and one_line_error(err)
    assert "could run code" in err
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_inspect_truncated_files_exit_2(capsys, tmp_path, suffix):
    whole = tmp_path / f"whole{suffix}"
    tensors = {"w": torch.randn(64, 64)}
    if suffix == ".pt":
        torch.save(tensors, whole)
    else:
        save_file(tensors, whole)
    data = whole.read_bytes()
    for cut in (len(data) // 2, len(data) - 8, 5):
        broken = tmp_path / f"broken{suffix}"
        broken.write_bytes(data[:cut])
        code, out, err = run(capsys, "inspect", broken)
        assert code == 2 and out == "" and one_line_error(err), (cut, err)


def test_inspect_missing_file_exits_2(capsys, tmp_path):
    code, out, err = run(capsys, "inspect", tmp_path / "nope.safetensors")
    assert code == 2 and out == "" and one_line_error(err)


def test_inspect_in_a_real_subprocess(tmp_path):
    save_file({"w": torch.ones(2, 2)}, tmp_path / "w.safetensors")
    done = subprocess.run([sys.executable, "-m", "netstudio.cli", "inspect", str(tmp_path / "w.safetensors"),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tensors"][0]["mean"] == 1.0
    (tmp_path / "bad.pt").write_bytes(b"\x80\x02garbage")
    bad = subprocess.run([sys.executable, "-m", "netstudio.cli", "inspect", str(tmp_path / "bad.pt")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
