import math
import sys
import threading
import types

import pytest
import torch
from torch import nn

from netstudio.errors import DeviceError, RunError
from netstudio.run.cancel import CancelToken
from netstudio.run.inputs import load_one_tensor, make_input
from netstudio.run.objectives import Objective, backward, forward
from netstudio.run.synthetic import make_classification, make_regression
from netstudio.run.training import train


def mlp(n_in: int = 4, n_out: int = 1) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(n_in, 16), nn.ReLU(), nn.Linear(16, n_out))


def one_sentence(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.endswith(".")
    return message


# Inputs


def test_random_and_constant_inputs():
    x = make_input([2, 3], "uniform", generator=torch.Generator().manual_seed(1))
    assert x.shape == (2, 3) and x.dtype == torch.float32 and 0 <= x.min() and x.max() < 1
    assert torch.equal(x, make_input((2, 3), generator=torch.Generator().manual_seed(1)))
    n = make_input([500], "normal", dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert n.dtype == torch.float64 and n.min() < 0 < n.max()
    assert torch.equal(make_input([2, 2], "ones"), torch.ones(2, 2))


def test_file_inputs_through_the_loader():
    stored = torch.arange(6.0).reshape(2, 3)
    x = make_input(None, "file", path="x.safetensors", loader=lambda path: stored, dtype=torch.float64)
    assert x.dtype == torch.float64 and torch.equal(x, stored.double())
    with pytest.raises(RunError, match=r"has shape \(2, 3\), not \(3, 2\)"):
        make_input([3, 2], "file", path="x.safetensors", loader=lambda path: stored)
    with pytest.raises(RunError, match="Choose a file"):
        make_input(None, "file")


def test_load_one_tensor_accepts_a_single_tensor_or_one_element_container(monkeypatch):
    fake = types.ModuleType("netstudio.files.tensor_io")
    monkeypatch.setitem(sys.modules, "netstudio.files.tensor_io", fake)
    t = torch.ones(3)
    for loaded in (t, {"x": t}, [t]):
        fake.load_tensors = lambda path, loaded=loaded: loaded
        assert load_one_tensor("a.pt") is t
    for loaded in ({"a": t, "b": t}, [], 3, [[t]]):
        fake.load_tensors = lambda path, loaded=loaded: loaded
        with pytest.raises(RunError, match="'two.pt' does not hold exactly one tensor") as exc:
            load_one_tensor("two.pt")
        one_sentence(exc)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"shape": [2, 0]}, RunError, "at least 1"),
        ({"shape": "23"}, RunError, "list of whole numbers"),
        ({"shape": None}, RunError, "needs a shape"),
        ({"shape": [2], "kind": "zeros"}, RunError, "Unknown input kind"),
        ({"shape": [2], "dtype": torch.int64}, RunError, "floating-point"),
        ({"shape": [2], "device": "cuda:7"}, DeviceError, "not available"),
    ],
)
def test_bad_inputs_give_one_sentence(kwargs, error, fragment):
    with pytest.raises(error) as exc:
        make_input(**kwargs)
    assert fragment in one_sentence(exc)


# Objectives, forward and backward


def test_objectives():
    out = torch.tensor([[1.0], [3.0]])
    assert Objective("sum")(out).item() == 4 and Objective("mean")(out).item() == 2
    assert Objective("mse", torch.tensor([[0.0], [1.0]]))(out).item() == pytest.approx(2.5)
    with pytest.raises(RunError, match=r"target has shape \(2,\) but the output has shape \(2, 1\)"):
        Objective("mse", torch.zeros(2))(out)
    for bad in [("mse", None), ("sum", torch.zeros(1)), ("max", None)]:
        with pytest.raises(RunError):
            Objective(*bad)
    with pytest.raises(RunError, match="not a single tensor"):
        Objective("sum")((out, out))


def test_forward_names_the_failing_module_and_cleans_up():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(5, 1))
    with pytest.raises(RunError) as exc:
        forward(model, torch.rand(2, 4))
    assert one_sentence(exc).startswith("Forward pass failed in '2': mat1 and mat2 shapes cannot be multiplied")
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert forward(model[:2], torch.rand(2, 4)).shape == (2, 8)

    class Broken(nn.Module):
        def forward(self, x, y):
            raise ValueError("bad things happened.\nmore detail")

    with pytest.raises(RunError) as exc:
        forward(Broken(), (torch.rand(1), torch.rand(1)))
    assert one_sentence(exc) == "Forward pass failed: bad things happened."


def test_forward_explains_device_mismatch():
    with pytest.raises(DeviceError) as exc:
        forward(mlp(), torch.rand(2, 4, device="meta"))
    assert one_sentence(exc) == "The input is on meta but the weights of '0' are on cpu; move both to the same device."


def test_backward_returns_fresh_deduplicated_gradients():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    x = torch.rand(2, 3)
    model(x).sum().backward()  # stale gradients that backward must not add to
    grads = backward(model, Objective("sum")(forward(model, x)))
    assert set(grads) == {"0.weight", "0.bias"}
    model.zero_grad()
    model(x).sum().backward()
    assert torch.equal(grads["0.weight"], shared.weight.grad) and grads["0.weight"] is not shared.weight.grad
    with pytest.raises(RunError, match="single number"):
        backward(model, model(x))


# Synthetic tasks


def test_synthetic_tasks_are_reproducible_from_a_seed():
    a, b, c = make_regression(3, 2, seed=1), make_regression(3, 2, seed=1), make_regression(3, 2, seed=2)
    assert a.features.shape == (256, 3) and a.targets.shape == (256, 2)
    assert torch.equal(a.features, b.features) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.targets, c.targets)
    blobs = make_classification(2, 3, n_samples=90, seed=4)
    assert blobs.targets.dtype == torch.int64 and torch.bincount(blobs.targets).tolist() == [30, 30, 30]
    for bad in (lambda: make_regression(0), lambda: make_classification(2, 1), lambda: make_regression(2, True)):
        with pytest.raises(RunError):
            bad()


# Training


def test_training_reduces_the_loss_and_reports_each_step():
    for optimizer, lr in (("sgd", 0.05), ("adam", 0.01)):
        model = mlp(3)
        seen = []
        result = train(model, make_regression(3), optimizer, lr, steps=60, progress=lambda s, l: seen.append((s, l)))
        assert result.steps_done == 60 and not result.cancelled and result.error is None
        assert [s for s, _ in seen] == list(range(1, 61)) and [l for _, l in seen] == list(result.losses)
        assert sum(result.losses[-5:]) < sum(result.losses[:5]) / 2


def test_training_is_reproducible_and_restores_the_mode():
    task = make_classification(2, 3, seed=0)
    first, second = mlp(2, 3), mlp(2, 3)
    first.eval()
    r1 = train(first, task, "adam", 0.05, steps=40, seed=3)
    r2 = train(second, task, "adam", 0.05, steps=40, seed=3)
    assert r1.losses == r2.losses and not first.training and second.training
    predictions = first(task.features).argmax(dim=1)
    assert (predictions == task.targets).float().mean() > 0.8


def test_training_materializes_lazy_layers_first():
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
    result = train(model, make_regression(5), steps=3)
    assert result.steps_done == 3 and model[0].weight.shape == (8, 5)


def test_cancel_before_start_and_token_semantics():
    token = CancelToken()
    assert not token.cancelled
    token.cancel()
    token.cancel()
    assert token.cancelled
    model = mlp(3)
    before = [p.detach().clone() for p in model.parameters()]
    result = train(model, make_regression(3), steps=5, cancel=token)
    assert (result.steps_done, result.cancelled, result.losses) == (0, True, ())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_cancel_from_another_thread():
    token = CancelToken()
    reached, cancelled = threading.Event(), threading.Event()
    results = []

    def progress(step: int, loss: float) -> None:
        if step == 3:
            reached.set()
            assert cancelled.wait(5)

    def run() -> None:
        results.append(train(mlp(3), make_regression(3), steps=1000, progress=progress, cancel=token))

    worker = threading.Thread(target=run)
    worker.start()
    assert reached.wait(5)
    token.cancel()
    cancelled.set()
    worker.join(5)
    assert not worker.is_alive()
    assert results[0].cancelled and results[0].steps_done == 3 and len(results[0].losses) == 3


def test_diverging_training_stops_with_a_message_and_finite_weights():
    model = mlp(3)
    result = train(model, make_regression(3), "sgd", lr=1e12, steps=50)
    assert result.error is not None and result.error.startswith("Training stopped at step")
    assert "\n" not in result.error and result.error.endswith(".")
    assert not result.cancelled and result.steps_done < 50 and len(result.losses) == result.steps_done
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert all(math.isfinite(l) for l in result.losses)


def test_training_errors_are_one_sentence_and_leave_the_model_usable():
    model = mlp(3, 2)
    model.eval()
    with pytest.raises(RunError) as exc:
        train(model, make_regression(3, 1), steps=2)
    assert "outputs shape (32, 2)" in one_sentence(exc)
    assert not model.training
    for kwargs in ({"lr": 0}, {"lr": float("nan")}, {"steps": 0}, {"batch_size": 1.5}, {"optimizer": "rmsprop"}):
        with pytest.raises(RunError):
            train(model, make_regression(3, 2), **kwargs)
    with pytest.raises(RunError, match="no parameters"):
        train(nn.ReLU(), make_regression(3))
