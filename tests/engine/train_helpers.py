"""Small projects, data files and command runners shared by the ``netstudio train`` tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from netstudio.cli import main
from netstudio.serialization import save_project
from tests.engine.builders import chain_project

ROOT = Path(__file__).resolve().parents[2]


def mlp_project(path: Path, dropout: float = 0.0) -> Path:
    """4 -> 8 -> ReLU (-> Dropout) -> 3, seed 0."""
    blocks = [("Linear", {"in_features": 4, "out_features": 8}), ("ReLU", {})]
    blocks += [("Dropout", {"p": dropout})] if dropout else []
    doc, _ = chain_project(blocks + [("Linear", {"in_features": 8, "out_features": 3})], shape=(2, 4))
    save_project(doc.project, path, backup=False)
    return path


def lenet_project(path: Path) -> Path:
    """Conv -> ReLU -> MaxPool -> Flatten -> Linear on 1x8x8 images, 3 classes."""
    doc, _ = chain_project([("Conv2d", {"in_channels": 1, "out_channels": 4, "kernel_size": [3, 3]}), ("ReLU", {}),
                            ("MaxPool2d", {"kernel_size": [2, 2]}), ("Flatten", {}),
                            ("Linear", {"in_features": 36, "out_features": 3})], shape=(2, 1, 8, 8))
    save_project(doc.project, path, backup=False)
    return path


def regression_data(path: Path, n: int = 64) -> Path:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 4, generator=g)
    save_file({"x": x, "y": torch.tanh(x @ torch.randn(4, 3, generator=g))}, str(path))
    return path


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def netstudio(argv: list[str], timeout: float = 240, **kwargs) -> subprocess.CompletedProcess:
    return launch([sys.executable, "-m", "netstudio", *map(str, argv)], timeout, **kwargs)


def launch(command: list[str], timeout: float = 240, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, **kwargs)
