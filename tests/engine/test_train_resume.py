"""A run killed with SIGKILL after a checkpoint past step 40 resumes to the weights of an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.engine.train_helpers import ROOT, cli, mlp_project, regression_data, weights

pytestmark = pytest.mark.slow
STEPS = 400


def test_kill_then_resume_equals_an_uninterrupted_run(tmp_path, capsys):
    project, data = mlp_project(tmp_path / "net.netstudio", dropout=0.3), regression_data(tmp_path / "d.safetensors")
    args = ["--data", data, "--steps", STEPS, "--batch-size", 4, "--optimizer", "adam", "--lr", 0.01,
            "--save-every", 15, "--device", "cpu"]   # shuffled, with dropout: data order and RNG must resume too
    code, _, err = cli(["train", project, "--run-dir", tmp_path / "whole", *args], capsys)
    assert code == 0, err
    run = tmp_path / "cut"
    child = subprocess.Popen([sys.executable, "-m", "netstudio", "train", str(project), "--run-dir", str(run),
                              *map(str, args)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (run / "checkpoints" / "step-000045.safetensors").exists() and child.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not (run / "final.safetensors").exists(), "the run ended before it could be killed"
    code, _, err = cli(["train", project, "--run-dir", run, *args, "--resume"], capsys)
    assert code == 0, err
    final, whole = weights(run / "final.safetensors"), weights(tmp_path / "whole" / "final.safetensors")
    assert all(torch.equal(final[k], whole[k]) for k in whole)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, STEPS + 1))
    code, out, _ = cli(["train", project, "--run-dir", run, *args, "--resume"], capsys)
    assert code == 0 and "already finished" in out
