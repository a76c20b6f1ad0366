"""Bad input to ``netstudio train``: one sentence on stderr, exit 2, and nothing written into the run directory."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from tests.engine.train_helpers import cli, mlp_project, regression_data


@pytest.fixture
def project(tmp_path):
    return mlp_project(tmp_path / "net.netstudio")


def _refused(capsys, argv, *words) -> str:
    code, out, err = cli(["train", *argv], capsys)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def _snapshot(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} if folder.exists() else None


def _data(tmp_path, **tensors):
    path = tmp_path / "d.safetensors"
    save_file(tensors, str(path))
    return path


@pytest.mark.parametrize("tensors, words", [
    ({"y": torch.zeros(4, 3)}, ["'x'"]),
    ({"x": torch.zeros(4, 4)}, ["'y'"]),
    ({"x": torch.zeros(4, 4), "y": torch.zeros(5, 3)}, ["4 samples", "5"]),
    ({"x": torch.zeros(4, 5), "y": torch.zeros(4, 3)}, ["Forward pass failed"]),
    ({"x": torch.zeros(4, 4), "y": torch.zeros(4, 2)}, ["target", "(2, 2)", "(2, 3)"]),
    ({"x": torch.zeros(()), "y": torch.zeros(())}, ["single number"]),
    ({"x": torch.zeros(4, 4), "y": torch.zeros(4, 2, dtype=torch.long), "--loss": "cross_entropy"},
     ["Class indices", "(2, 2)", "expected (2,)"]),
    ({"x": torch.zeros(0, 4), "y": torch.zeros(0, 3)}, ["no samples"]),
])
def test_bad_data_is_refused_before_the_run_dir_exists(tmp_path, capsys, project, tensors, words):
    loss = tensors.pop("--loss", "mse")
    data = _data(tmp_path, **tensors)
    _refused(capsys, [project, "--data", data, "--run-dir", tmp_path / "run", "--batch-size", 2, "--loss", loss],
             *words)
    assert not (tmp_path / "run").exists()


def test_a_pt_file_with_pickled_code_is_refused(tmp_path, capsys, project):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    data = tmp_path / "d.pt"
    torch.save({"x": torch.zeros(4, 4), "y": torch.zeros(4, 3), "evil": Payload()}, data, pickle_protocol=2)
    _refused(capsys, [project, "--data", data, "--run-dir", tmp_path / "run"], "could run code")
    assert not marker.exists() and not (tmp_path / "run").exists()
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Payload()))
    _refused(capsys, [project, "--data", raw, "--run-dir", tmp_path / "run"])
    assert not marker.exists()


def test_a_pt_file_of_plain_tensors_trains(tmp_path, capsys, project):
    data = tmp_path / "d.pt"
    torch.save({"x": torch.randn(8, 4, dtype=torch.float64), "y": torch.randn(8, 3)}, data)
    code, _, err = cli(["train", project, "--data", data, "--run-dir", tmp_path / "run", "--batch-size", 4], capsys)
    assert code == 0, err


def test_an_existing_run_dir_is_left_alone(tmp_path, capsys, project):
    data, run = regression_data(tmp_path / "d.safetensors"), tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    before = _snapshot(run)
    _refused(capsys, [project, "--data", data, "--run-dir", run], "already exists", "--resume")
    assert _snapshot(run) == before
    file_dir = tmp_path / "file"
    file_dir.write_text("x")
    _refused(capsys, [project, "--data", data, "--run-dir", file_dir], "already exists")


def test_resume_with_other_arguments_or_no_run_is_refused(tmp_path, capsys, project):
    data, run = regression_data(tmp_path / "d.safetensors"), tmp_path / "run"
    _refused(capsys, [project, "--data", data, "--run-dir", tmp_path / "empty", "--resume"], "no run.json")
    code, _, err = cli(["train", project, "--data", data, "--run-dir", run, "--steps", 4, "--save-every", 2], capsys)
    assert code == 0, err
    (run / "final.safetensors").unlink()
    before = _snapshot(run)
    _refused(capsys, [project, "--data", data, "--run-dir", run, "--steps", 4, "--lr", 0.5, "--resume"], "--lr")
    _refused(capsys, [project, "--data", data, "--run-dir", run, "--steps", 5, "--resume"], "--steps")
    assert _snapshot(run) == before


@pytest.mark.parametrize("argv, words", [
    (["--steps", 0], ["--steps must be at least 1"]),
    (["--lr", "nan"], ["--lr"]),
    (["--lr", -1], ["--lr"]),
    (["--optimizer", "adam", "--momentum", 0.9], ["sgd only"]),
    (["--weight-decay", -0.1], ["--weight-decay"]),
    (["--batch-size", 65], ["65", "64 samples"]),
    (["--nproc", 2, "--batch-size", 3], ["cannot be split evenly over 2"]),
])
def test_bad_arguments_are_one_sentence(tmp_path, capsys, project, argv, words):
    data = regression_data(tmp_path / "d.safetensors")
    _refused(capsys, [project, "--data", data, "--run-dir", tmp_path / "run", *argv], *words)
    assert not (tmp_path / "run").exists()


def test_a_usage_error_is_exit_2_without_traceback(tmp_path, capsys, project):
    code, _, err = cli(["train", project, "--data", "d", "--run-dir", tmp_path / "run", "--steps", 2,
                        "--epochs", 2], capsys)
    assert code == 2 and "not allowed with argument --steps" in err and "Traceback" not in err


def test_missing_or_odd_files_are_one_sentence(tmp_path, capsys, project):
    data = regression_data(tmp_path / "d.safetensors")
    _refused(capsys, [project, "--data", tmp_path / "none.safetensors", "--run-dir", tmp_path / "run"])
    _refused(capsys, [project, "--data", tmp_path, "--run-dir", tmp_path / "run"], "folder")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
    _refused(capsys, [project, "--data", tmp_path / "bad.safetensors", "--run-dir", tmp_path / "run"])
    _refused(capsys, [tmp_path / "none.netstudio", "--data", data, "--run-dir", tmp_path / "run"])
    assert not (tmp_path / "run").exists()


def test_a_diverging_run_stops_with_one_sentence(tmp_path, capsys, project):
    data = _data(tmp_path, x=torch.full((8, 4), 1e30), y=torch.zeros(8, 3))
    _refused(capsys, [project, "--data", data, "--run-dir", tmp_path / "run", "--batch-size", 4, "--steps", 3],
             "The loss is inf at step 1", "lower --lr")
