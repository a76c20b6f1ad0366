"""A LeNet-like project learns 4-D images with cross-entropy."""

from __future__ import annotations

import json

import torch
from safetensors.torch import save_file

from tests.engine.train_helpers import cli, lenet_project


def test_a_conv_net_learns_three_classes(tmp_path, capsys):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (96,), generator=g)
    x = 0.3 * torch.randn(96, 1, 8, 8, generator=g)
    for label, (r, c) in enumerate([(0, 0), (0, 4), (4, 0)]):   # a bright quadrant says the class
        x[y == label, :, r:r + 4, c:c + 4] += 1.0
    data = tmp_path / "d.safetensors"
    save_file({"x": x, "y": y.to(torch.int32)}, str(data))
    run = tmp_path / "run"
    code, _, err = cli(["train", lenet_project(tmp_path / "lenet.netstudio"), "--data", data, "--run-dir", run,
                        "--epochs", 8, "--batch-size", 16, "--optimizer", "adam", "--lr", 0.02,
                        "--loss", "cross_entropy"], capsys)
    assert code == 0, err
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 48
    assert sum(losses[-6:]) / 6 < 0.5 * sum(losses[:6]) / 6, losses
