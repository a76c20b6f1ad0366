"""DistributedDataParallel on the CPU (gloo) gives the weights one process gives with the same global batch."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
import torch

from tests.engine.train_helpers import ROOT, cli, launch, mlp_project, netstudio, regression_data, weights

pytestmark = pytest.mark.slow
STEPS = 20


@pytest.fixture
def setup(tmp_path, capsys):
    """(project, data, arguments, one process's final weights)."""
    project, data = mlp_project(tmp_path / "net.netstudio"), regression_data(tmp_path / "d.safetensors", n=40)
    args = ["--data", data, "--steps", STEPS, "--batch-size", 8, "--lr", 0.1, "--momentum", 0.9,
            "--save-every", 10, "--device", "cpu"]
    code, _, err = cli(["train", project, "--run-dir", tmp_path / "one", *args], capsys)
    assert code == 0, err
    return project, [str(a) for a in args], weights(tmp_path / "one" / "final.safetensors")


def _same(run, reference, world: int) -> None:
    final = weights(run / "final.safetensors")
    assert list(final) == list(reference)
    for name in reference:
        torch.testing.assert_close(final[name], reference[name], atol=1e-4, rtol=0)
    assert json.loads((run / "run.json").read_text())["world_size"] == world
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))


def test_nproc_2_matches_one_process(tmp_path, setup):
    project, args, reference = setup
    done = netstudio(["train", project, "--run-dir", tmp_path / "two", "--nproc", 2, *args])
    assert done.returncode == 0, done.stderr
    _same(tmp_path / "two", reference, 2)
    assert done.stdout.count("final.safetensors") == 1
    assert done.stderr.count(f"{STEPS}/{STEPS}") == 1, done.stderr   # progress from rank 0 only
    assert "Traceback" not in done.stderr


def test_torchrun_matches_one_process(tmp_path, setup):
    project, args, reference = setup
    done = launch([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                   "-m", "netstudio", "train", project, "--run-dir", str(tmp_path / "two"), *args])
    assert done.returncode == 0, done.stderr
    _same(tmp_path / "two", reference, 2)


def test_two_nodes_through_c10d_match_one_process(tmp_path, setup):
    project, args, reference = setup
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
               "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "test",
               "-m", "netstudio", "train", project, "--run-dir", str(tmp_path / "nodes"), *args]
    nodes = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        outputs = [node.communicate(timeout=240) for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0], outputs
    _same(tmp_path / "nodes", reference, 2)


def test_nproc_checks_everything_before_starting_processes(tmp_path, setup):
    project, args, _ = setup
    done = netstudio(["train", project, "--run-dir", tmp_path / "bad", "--nproc", 2, *args, "--batch-size", 3])
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "split evenly" in done.stderr, done.stderr
    assert not (tmp_path / "bad").exists()
