"""Fixtures for the importer's tests: an isolated Python that runs exported model.py files."""

from __future__ import annotations

import json
import site
import subprocess
import sys
from pathlib import Path

import pytest

ISOLATED = r'''
import importlib.util, json, sys, traceback
config = json.loads(sys.argv[1])
sys.path.extend(config["site"])
if config.get("torchvision_without_ops"):
    # this test machine's torchvision is a CUDA build beside a CPU torch: its models import without its ops
    import types
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
report = {}
try:
    import netstudio  # noqa: F401
    report["netstudio_importable"] = True
except ImportError:
    report["netstudio_importable"] = False
import torch
from safetensors.torch import load_file

for name, folder in config["folders"].items():
    try:
        spec = importlib.util.spec_from_file_location(f"exported_{name}", f"{folder}/model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.build_model()
        model.load_state_dict(load_file(f"{folder}/model.safetensors"))   # strict
        model.eval()
        io = load_file(f"{folder}/io.safetensors")
        inputs = [io[f"input.{k}"] for k in range(sum(key.startswith("input.") for key in io))]
        with torch.no_grad():
            out = model(*inputs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        expected = [io[f"expected.{k}"] for k in range(sum(key.startswith("expected.") for key in io))]
        report[name] = {"ok": True, "keys": list(model.state_dict()),
                        "same": len(outs) == len(expected) and all(torch.equal(a, b) for a, b in zip(outs, expected))}
    except Exception:
        report[name] = {"ok": False, "error": traceback.format_exc()}
print(json.dumps(report))
'''


def run_isolated(folders: dict[str, Path]) -> dict:
    """Import each folder's model.py in a Python that cannot import netstudio; compare with io.safetensors."""
    config = {"folders": {k: str(v) for k, v in folders.items()}, "site": site.getsitepackages(),
              "torchvision_without_ops": "torchvision._meta_registrations" in sys.modules
              and not getattr(sys.modules["torchvision._meta_registrations"], "__file__", None)}
    done = subprocess.run([sys.executable, "-I", "-S", "-c", ISOLATED, json.dumps(config)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report.pop("netstudio_importable") is False
    return report


@pytest.fixture
def isolated():
    return run_isolated
