"""Export files: written into a staging folder, verified there, then moved into place; streamed to disk.

A failed or killed export leaves the previous export exactly as it was, and
the next export removes staging folders that no live process is writing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch
from safetensors.torch import load_file

from netstudio.compiler import compile_project
from netstudio.errors import NetStudioError
from netstudio.export import ExportError, export_plain_pytorch, materialize, plain_pytorch
from netstudio.export import writing
from netstudio.graph import Document, Project
from netstudio.graph.ports import input_ports
from netstudio.serialization import load_project

from .builders import chain_project

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"


def constant_project() -> Project:
    """Input + a large non-persistent Constant -> Linear: its export has a constants.safetensors."""
    doc = Document(Project(name="with constants", definitions={}))
    doc.add_definition("main", kind="graph", class_name="WithConstant")
    d = doc.definition("main")
    doc.set_param("main", d.inputs[0].id, "shape", [2, 5000])
    for e in list(d.edges):
        doc.disconnect("main", e)
    big = doc.add_node("main", "Constant", "big", {"shape": [5000], "fill": "rand"})
    plus = doc.add_node("main", "Add", "plus")
    fc = doc.add_node("main", "Linear", "fc", {"out_features": 3})
    a, b = input_ports(doc.project, plus)[:2]
    doc.connect("main", d.inputs[0].id, "out", plus.id, a)
    doc.connect("main", big.id, "out", plus.id, b)
    doc.connect("main", plus.id, "out", fc.id, "in")
    doc.connect("main", fc.id, "out", d.outputs[0].id, "in")
    return doc.project


def linear_project() -> Project:
    return chain_project([("Linear", {"out_features": 3})])[0].project


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of the folder, by name, with its bytes (a folder shows as None)."""
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in folder.iterdir()}


@pytest.fixture
def previous(tmp_path) -> tuple[Path, dict[str, bytes]]:
    """A folder holding a finished export with a constants file, and its exact contents."""
    project = constant_project()
    export_plain_pytorch(project, compile_project(project), tmp_path / "out")
    before = snapshot(tmp_path / "out")
    assert sorted(before) == ["constants.safetensors", "model.py", "model.safetensors"]
    return tmp_path / "out", before


# ---------------------------------------------------------------- failures keep the previous export


def test_failed_verification_leaves_the_previous_export_as_it_was(previous, monkeypatch):
    out, before = previous

    def fail(*args, **kwargs):
        raise ExportError("The generated model.py failed to build the network: boom.")

    monkeypatch.setattr(plain_pytorch, "verify_model_py", fail)
    project = linear_project()   # needs no constants file: the old one must still stay
    with pytest.raises(ExportError, match="boom"):
        export_plain_pytorch(project, compile_project(project), out)
    assert snapshot(out) == before


def test_failed_write_leaves_the_previous_export_as_it_was(previous, monkeypatch):
    out, before = previous
    real = writing.write_safetensors

    def fail_half_way(obj, f):
        real(obj, f)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writing, "write_safetensors", fail_half_way)
    project = linear_project()
    with pytest.raises(NetStudioError, match="No space left on device"):
        export_plain_pytorch(project, compile_project(project), out)
    assert snapshot(out) == before


def test_a_new_export_replaces_every_file_and_drops_the_stale_constants(previous):
    out, before = previous
    project = linear_project()
    net = compile_project(project)
    export_plain_pytorch(project, net, out)
    after = snapshot(out)
    assert sorted(after) == ["model.py", "model.safetensors"]
    assert after["model.py"] != before["model.py"]
    assert sorted(load_file(out / "model.safetensors")) == sorted(net.state_dict())


def test_a_folder_in_the_way_is_found_before_anything_moves(previous):
    out, before = previous
    (out / "model.py").unlink()
    (out / "model.py").mkdir()
    before = snapshot(out)
    project = linear_project()
    with pytest.raises(ExportError, match="a folder has that name"):
        export_plain_pytorch(project, compile_project(project), out)
    assert snapshot(out) == before


CRASH = r'''
import os, signal, sys
from netstudio.compiler import compile_project
from netstudio.export import export_plain_pytorch, plain_pytorch
from netstudio.serialization import load_project

project = load_project(sys.argv[1])
real = plain_pytorch.verify_model_py

def verify_then_die(*args, **kwargs):
    real(*args, **kwargs)           # every file is written and checked: now the process is killed
    os.kill(os.getpid(), signal.SIGKILL)

plain_pytorch.verify_model_py = verify_then_die
export_plain_pytorch(project, compile_project(project), sys.argv[2])
'''


def test_a_killed_export_leaves_nothing_behind_at_the_next_export(previous):
    out, before = previous
    done = subprocess.run([sys.executable, "-c", CRASH, str(EXAMPLES / "mlp.netstudio"), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr
    left = snapshot(out)
    staging = [name for name in left if name.startswith(writing.STAGING_PREFIX)]
    assert len(staging) == 1                                   # what the killed export had written...
    assert {k: v for k, v in left.items() if k not in staging} == before   # ...and the old export, untouched
    project = linear_project()
    export_plain_pytorch(project, compile_project(project), out)
    assert sorted(snapshot(out)) == ["model.py", "model.safetensors"]


def test_a_staging_folder_that_a_live_export_holds_is_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with writing.staging_folder(out) as live:     # another export, still running
        project = linear_project()
        export_plain_pytorch(project, compile_project(project), out)
        assert live.is_dir() and live.parent == out
    assert not live.exists()
    assert sorted(snapshot(out)) == ["model.py", "model.safetensors"]


def test_staging_folders_without_a_lock_go_only_when_a_day_old(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    fresh, old = out / f"{writing.STAGING_PREFIX}fresh", out / f"{writing.STAGING_PREFIX}old"
    for folder in (fresh, old):
        folder.mkdir()
        (folder / "model.py").write_text("partial")
    day_and_more = time.time() - 2 * 24 * 3600
    os.utime(old, (day_and_more, day_and_more))
    (out / "unrelated").mkdir()
    writing.remove_abandoned(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([fresh.name, "unrelated"])


def test_without_fcntl_locked_staging_folders_go_only_when_a_day_old(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(writing, "fcntl", None)
    with writing.staging_folder(out) as recent:
        with writing.staging_folder(out) as old:
            day_and_more = time.time() - 2 * 24 * 3600
            os.utime(old, (day_and_more, day_and_more))
            writing.remove_abandoned(out)
            assert recent.exists() and not old.exists()


# ---------------------------------------------------------------- streamed tensors


def _load_model_py(folder: Path):
    spec = importlib.util.spec_from_file_location(f"exported_{abs(hash(folder))}", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tensors_are_streamed_not_built_in_memory(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the whole file was built in memory")

    monkeypatch.setattr(safetensors.torch, "save", refuse)
    project = constant_project()
    net = compile_project(project)
    export_plain_pytorch(project, net, tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    assert sorted(weights) == sorted(net.state_dict())
    assert all(torch.equal(weights[k], v) for k, v in net.state_dict().items())
    assert torch.equal(load_file(tmp_path / "constants.safetensors")["big"], net.big)


def test_tied_weights_are_stored_under_every_name_and_load_strictly(tmp_path):
    project = load_project(EXAMPLES / "tied.netstudio")
    net = compile_project(project)
    materialize(project, net)
    assert net[2].weight is net[4].weight
    export_plain_pytorch(project, net, tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    assert sorted(weights) == sorted(net.state_dict())
    assert {"2.weight", "4.weight", "2.bias", "4.bias"} <= set(weights)
    model = _load_model_py(tmp_path).build_model()
    model.load_state_dict(weights)   # strict
    assert model[2] is model[4]
    for key, value in net.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)


MEASURE = r'''
import json, sys
from pathlib import Path
from tests.engine.builders import chain_project
from netstudio.compiler import compile_project
from netstudio.export import export_plain_pytorch


def mib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024


doc, _ = chain_project([("Linear", {"in_features": 1024, "out_features": 1024})] * 16, shape=(2, 1024))
net = compile_project(doc.project)
size = sum(t.numel() * t.element_size() for t in net.state_dict().values()) / 2**20
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")   # resets the peak resident size (VmHWM)
before = mib("VmRSS:")
export_plain_pytorch(doc.project, net, Path(sys.argv[1]))
print(json.dumps({"model": size, "extra": mib("VmHWM:") - before}))
'''


@pytest.mark.slow
@pytest.mark.skipif(not (os.access("/proc/self/clear_refs", os.W_OK) and Path("/proc/self/status").exists()),
                    reason="needs Linux's /proc to measure the peak resident size")
def test_export_peak_memory_stays_well_below_a_second_copy(tmp_path):
    done = subprocess.run([sys.executable, "-c", MEASURE, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["model"] > 60
    assert figures["extra"] < figures["model"] / 2, figures
