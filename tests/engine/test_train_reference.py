"""``netstudio train`` on one process equals a plain PyTorch loop, and writes the run directory it promises."""

from __future__ import annotations

import json

import torch

from netstudio.compiler import compile_project
from netstudio.serialization import load_project, load_project_and_weights
from tests.engine.train_helpers import cli, mlp_project, regression_data, weights


def _plain_loop(project_path, data_path, steps: int, batch: int, lr: float) -> dict[str, torch.Tensor]:
    model = compile_project(load_project(project_path))
    data = weights(data_path)
    x, y = data["x"], data["y"]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    per_epoch = len(x) // batch
    for step in range(steps):
        k = step % per_epoch
        xb, yb = x[k * batch:(k + 1) * batch], y[k * batch:(k + 1) * batch]
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(xb), yb).backward()
        optimizer.step()
    return model.state_dict()


def test_fifty_sgd_steps_equal_a_plain_loop(tmp_path, capsys):
    project, data = mlp_project(tmp_path / "net.netstudio"), regression_data(tmp_path / "d.safetensors", n=60)
    run = tmp_path / "run"
    code, out, err = cli(["train", project, "--data", data, "--run-dir", run, "--steps", 50, "--batch-size", 8,
                          "--lr", 0.1, "--no-shuffle", "--save-every", 20], capsys)
    assert code == 0, err
    assert out.strip() == str(run / "final.safetensors")
    final, expected = weights(run / "final.safetensors"), _plain_loop(project, data, 50, 8, 0.1)
    assert list(final) == list(expected)   # PyTorch's names
    for name in expected:
        torch.testing.assert_close(final[name], expected[name], atol=1e-5, rtol=0)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step-000020.safetensors", "step-000020.state.pt", "step-000040.safetensors", "step-000040.state.pt"]
    record = json.loads((run / "run.json").read_text())
    assert record["world_size"] == 1 and record["torch"] == torch.__version__ and len(record["project_sha256"]) == 64
    assert record["arguments"]["lr"] == 0.1 and record["total_steps"] == 50
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 51))
    assert all({"loss", "lr", "time", "elapsed"} <= set(r) and r["lr"] == 0.1 for r in rows)
    assert not any(p.name.endswith(".tmp") for p in run.rglob("*"))


def test_update_project_stores_the_final_weights(tmp_path, capsys):
    project, data = mlp_project(tmp_path / "net.netstudio"), regression_data(tmp_path / "d.safetensors")
    code, _, err = cli(["train", project, "--data", data, "--run-dir", tmp_path / "run", "--epochs", 2,
                        "--optimizer", "adamw", "--weight-decay", 0.01, "--update-project"], capsys)
    assert code == 0, err
    _, stored = load_project_and_weights(project)
    final = weights(tmp_path / "run" / "final.safetensors")
    assert stored is not None and all(torch.equal(stored[k], final[k]) for k in final)
    rows = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 4   # 2 epochs of 64 samples in batches of 32
