"""The procedural shapes dataset, training on dataset files in the app's engine, and the LeNet example
learning from the bundled shapes with cross-entropy on 4-D inputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from netstudio.compiler import compile_project
from netstudio.errors import RunError
from netstudio.files.tensor_io import save_tensors
from netstudio.run import dataset, train
from netstudio.run.dataset import DatasetTask, check_fit, check_values, describe
from netstudio.run.shapes_dataset import (BUNDLED_SAMPLES, BUNDLED_SEED, BUNDLED_SHAPES, CLASSES, make_shapes,
                                          write_shapes)
from netstudio.serialization import load_project
from netstudio.training.samples import open_samples

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "resources" / "datasets" / "make_shapes.py"


def test_the_same_seed_draws_the_same_images_and_another_seed_others():
    x, y = make_shapes(80, seed=3)
    again_x, again_y = make_shapes(80, seed=3)
    assert torch.equal(x, again_x) and torch.equal(y, again_y)
    other_x, _ = make_shapes(80, seed=4)
    assert not torch.equal(x, other_x)


def test_images_are_one_channel_in_range_with_balanced_classes():
    x, y = make_shapes(200, seed=1)
    assert x.shape == (200, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (200,) and y.dtype == torch.int64
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert torch.bincount(y, minlength=len(CLASSES)).tolist() == [50] * len(CLASSES)
    assert y.tolist() != [i % len(CLASSES) for i in range(200)]   # shuffled, not taking turns
    ink = (x > 0.5).flatten(1).sum(dim=1)
    assert int(ink.min()) >= 15   # every image shows a shape, not noise alone


def test_each_class_is_its_shape():
    """Without noise, at the centre and corners of the shape's box: a square fills its corners, a cross
    its centre but not its corners, a circle its centre only; a triangle's top corners are empty."""
    x, y = make_shapes(40, seed=2, noise=0.0)
    filled = x[:, 0] > 0.5
    for image, label in zip(filled, y.tolist()):
        rows, cols = image.any(dim=1).nonzero().flatten(), image.any(dim=0).nonzero().flatten()
        top, bottom, left, right = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
        corners = [bool(image[r, c]) for r in (top, bottom) for c in (left, right)]
        centre = bool(image[(top + bottom) // 2, (left + right) // 2])
        name = CLASSES[label]
        if name == "square":
            assert all(corners) and centre
        elif name in ("circle", "cross"):
            assert not any(corners) and centre
        else:
            assert not corners[0] and not corners[1] and corners[2] and corners[3]


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "The number of samples must be a whole number of at least 1, not 0."),
    ({"size": 8}, "The image size must be a whole number from 12 to 512, not 8."),
    ({"noise": float("nan")}, "The noise must be a number from 0 to 1, not nan."),
])
def test_bad_settings_are_one_sentence(kwargs, message):
    with pytest.raises(RunError) as err:
        make_shapes(**kwargs)
    assert str(err.value) == message


def test_the_file_is_what_the_trainers_read(tmp_path):
    path = write_shapes(tmp_path / "shapes.safetensors", n=40, seed=5)
    samples = open_samples(str(path))
    x, y = samples.batch(torch.arange(40))
    want_x, want_y = make_shapes(40, seed=5)
    assert x.dtype == torch.float16 and x.shape == (40, 1, 28, 28)
    torch.testing.assert_close(x.float(), want_x, atol=1e-3, rtol=0)
    assert torch.equal(y, want_y)
    with pytest.raises(RunError, match="float16 or float32"):
        write_shapes(tmp_path / "other.safetensors", n=4, dtype="int8")


def test_the_bundled_file_is_small_and_up_to_date():
    """It ships with the app: under 3 MB, and what ``make_shapes.py`` draws today."""
    assert BUNDLED_SHAPES.is_file() and BUNDLED_SHAPES.stat().st_size < 3 * 2 ** 20
    samples = open_samples(str(BUNDLED_SHAPES))
    x, y = samples.batch(torch.arange(len(samples)))
    want_x, want_y = make_shapes(BUNDLED_SAMPLES, BUNDLED_SEED)
    assert torch.equal(x, want_x.to(torch.float16)) and torch.equal(y, want_y)


def test_the_script_writes_a_file_and_says_why_it_cannot(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("make_shapes", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "few.safetensors"
    assert script.main([str(out), "--samples", "8", "--seed", "1"]) == 0
    assert len(open_samples(str(out))) == 8 and "wrote" in capsys.readouterr().out
    assert script.main([str(tmp_path / "none.safetensors"), "--samples", "0"]) == 2
    assert capsys.readouterr().err == "error: The number of samples must be a whole number of at least 1, not 0.\n"


def lenet() -> nn.Module:
    torch.manual_seed(0)
    return compile_project(load_project(ROOT / "resources" / "examples" / "lenet.netstudio"))


def test_the_lenet_example_learns_the_bundled_shapes():
    """Cross-entropy on (N, 1, 28, 28) images drawn from the memory-mapped file; the loss falls within
    30 steps at the Run panel's defaults (SGD, lr 0.01, batch 32)."""
    net = lenet()
    task = DatasetTask(open_samples(str(BUNDLED_SHAPES)), "cross_entropy", "'shapes.safetensors'")
    check_values(task)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    check_fit(net, task)   # in eval mode: the batch norms' running statistics stay as they were
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items()) and net.training
    assert task.classes == 4
    assert describe(task) == "1,200 samples: x (1, 28, 28) float16, y () int64"
    torch.manual_seed(0)
    result = train(net, task, "sgd", 0.01, steps=30, batch_size=32, seed=0)
    losses = result.losses
    assert result.error is None and result.steps_done == 30
    assert sum(losses[-5:]) / 5 < 0.9 * sum(losses[:5]) / 5, losses


def saved(tmp_path, **tensors) -> str:
    path = tmp_path / "data.safetensors"
    save_tensors(tensors, path)
    return str(path)


def test_each_pass_visits_every_sample_once(tmp_path):
    task = DatasetTask(open_samples(saved(tmp_path, x=torch.arange(10.0).view(10, 1), y=torch.arange(10))),
                       "mse")
    g = torch.Generator().manual_seed(0)
    first_pass = torch.cat([task.indices(step, 3, g) for step in (1, 2, 3)])
    assert sorted(first_pass.tolist()) == sorted(set(first_pass.tolist())) and len(first_pass) == 9
    second_pass = torch.cat([task.indices(step, 3, g) for step in (4, 5, 6)])
    assert len(set(second_pass.tolist())) == 9 and not torch.equal(first_pass, second_pass)
    assert len(task.indices(7, 50, g)) == 10   # a batch larger than the data takes all of it


def test_vectors_with_mse_and_token_sequences_train(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 6, generator=g)
    regression = DatasetTask(open_samples(saved(tmp_path, x=x, y=x @ torch.randn(6, 2, generator=g))), "mse")
    net = nn.Linear(6, 2)
    check_fit(net, regression)
    losses = train(net, regression, "sgd", 0.05, steps=40, batch_size=16).losses
    assert losses[-1] < losses[0]
    tokens = torch.randint(0, 20, (48, 5), generator=g)
    (tmp_path / "t").mkdir()
    sequences = DatasetTask(open_samples(saved(tmp_path / "t", x=tokens, y=tokens[:, 0] % 3)), "cross_entropy")
    net = nn.Sequential(nn.Embedding(20, 4), nn.Flatten(), nn.Linear(20, 3))
    check_fit(net, sequences)
    assert sequences.classes == 3
    assert train(net, sequences, "adam", 0.05, steps=10, batch_size=8).steps_done == 10


@pytest.mark.parametrize("tensors, loss, message", [
    ({"x": torch.zeros(4, 7), "y": torch.zeros(4, dtype=torch.int64)}, "cross_entropy",
     "'data.safetensors' holds samples of shape (7,), which the network cannot take (forward pass failed in "
     "'0': mat1 and mat2 shapes cannot be multiplied (2x7 and 6x3))."),
    ({"x": torch.zeros(4, 6), "y": torch.tensor([0, 1, 2, 3])}, "cross_entropy",
     "Class index 3 of sample 3 in 'y' is out of range: the network has 3 classes (0 to 2)."),
    ({"x": torch.zeros(4, 6), "y": torch.zeros(4, 2)}, "mse",
     "The target has shape (2, 2) but the output has shape (2, 3)."),
    ({"x": torch.zeros(4, 6), "y": torch.zeros(4, 3)}, "cross_entropy", None),   # probabilities
    ({"x": torch.zeros(4, 6), "y": torch.zeros(4, 2, dtype=torch.int64)}, "cross_entropy",
     "Class indices 'y' of shape (2, 2) do not fit the output (2, 3); expected (2,)."),
])
def test_the_data_must_fit_the_network_and_the_loss(tmp_path, tensors, loss, message):
    task = DatasetTask(open_samples(saved(tmp_path, **tensors)), loss, "'data.safetensors'")
    net = nn.Sequential(nn.Linear(6, 3))
    if message is None:
        check_fit(net, task)
        return
    with pytest.raises(RunError) as err:
        check_fit(net, task)
    assert str(err.value) == message


def test_nan_is_found_up_front_or_in_the_batch_that_draws_it(tmp_path, monkeypatch):
    x = torch.zeros(40, 3)
    x[30, 1] = float("nan")
    task = DatasetTask(open_samples(saved(tmp_path, x=x, y=torch.zeros(40, 1))), "mse", "'data.safetensors'")
    with pytest.raises(RunError) as err:
        check_values(task)
    assert str(err.value) == ("'data.safetensors' holds NaN or infinite values in 'x' (sample 30); clean the "
                              "data before training on it.")
    monkeypatch.setattr(dataset, "SCAN_BYTES", 12 * 10)   # only the first ten samples are scanned up front
    check_values(task)
    net = nn.Linear(3, 1)
    before = net.weight.detach().clone()
    with pytest.raises(RunError, match=r"NaN or infinite values in 'x' \(sample 30\)"):
        train(net, task, "sgd", 0.1, steps=20, batch_size=40)
    assert torch.equal(net.weight, before)   # the batch that held it changed nothing


def test_unknown_losses_are_refused(tmp_path):
    with pytest.raises(RunError, match="Unknown loss 'hinge'; use mse or cross_entropy."):
        DatasetTask(open_samples(saved(tmp_path, x=torch.zeros(2, 1), y=torch.zeros(2, 1))), "hinge")
