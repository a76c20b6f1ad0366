"""ONNX files exported here → import → check → compile → onnxruntime's outputs → export → the same again.

The models are what ``torch.onnx.export`` writes for an MLP, for a small
CNN with BatchNorm in eval mode and for self-attention, at operator set 13 (LayerNorm and GELU as
their primitive operators) and 20 (``LayerNormalization``, ``Gelu``).  The
import must give blocks only (no code blocks), the file's initializers as the
modules' parameters and buffers, and onnxruntime's outputs.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn import functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import numpy_helper  # noqa: E402

from netstudio.analysis import check  # noqa: E402
from netstudio.cli import main  # noqa: E402
from netstudio.compiler import compile_project  # noqa: E402
from netstudio.export import export_plain_pytorch  # noqa: E402
from netstudio.importer import import_source, load_model  # noqa: E402
from netstudio.serialization import load_project_and_weights  # noqa: E402

ATOL = 1e-5


class Mlp(nn.Module):
    """Gemm, MatMul + Add (a Linear on three dimensions), Tanh, Sigmoid, arithmetic with constants,
    Reshape, Concat, Transpose and Softmax."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(6, 16)
        self.drop = nn.Dropout(0.25)
        self.mix = nn.Linear(4, 4)
        self.gate = nn.Linear(6, 16, bias=False)
        self.out = nn.Linear(32, 5)

    def forward(self, x):
        h = self.drop(torch.tanh(self.hidden(x)))
        m = self.mix(h.reshape(x.shape[0], 4, 4)).transpose(1, 2).flatten(1)
        g = torch.sigmoid(self.gate(x)) * 2.0 - h / 3.0
        return torch.softmax(self.out(torch.cat([m, g], dim=1)), dim=-1)


class Cnn(nn.Module):
    """Conv (grouped, strided, padded), ReLU, BatchNorm in eval mode, MaxPool, AveragePool, GlobalAveragePool,
    Flatten, Gemm, LayerNorm and GELU."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2, bias=False)
        self.fc = nn.Linear(8 + 8 * 2 * 2, 10)
        self.norm = nn.LayerNorm(10)

    def forward(self, x):
        y = self.pool(self.bn(F.relu(self.conv1(x))))
        z = self.conv2(y)
        pooled = torch.flatten(F.adaptive_avg_pool2d(z, 1), 1)
        tiles = torch.flatten(F.avg_pool2d(z, 2, ceil_mode=False), 1)
        return F.gelu(self.norm(self.fc(torch.cat([pooled, tiles], 1))))


class Attention(nn.Module):
    """Self-attention as a transformer writes it: Split, Reshape, Transpose, MatMul of two tensors, Softmax,
    residual Adds (a third model, beyond the issue's two)."""

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(16)
        self.qkv = nn.Linear(16, 48)
        self.proj = nn.Linear(16, 16)
        self.ff = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = (p.reshape(b, t, 4, 4).transpose(1, 2) for p in self.qkv(self.norm(x)).chunk(3, dim=-1))
        a = torch.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1) @ v
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, c))
        return x + self.ff(x)


def _cnn() -> Cnn:
    model = Cnn()
    with torch.no_grad():   # statistics a trained network could have, so that eval mode matters
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
        model.bn.weight.uniform_(0.5, 1.5)
        model.bn.bias.uniform_(-0.2, 0.2)
    return model


MODELS = {"mlp": (Mlp, (4, 6)), "cnn": (_cnn, (2, 3, 16, 16)), "attention": (Attention, (2, 5, 16))}
BLOCKS = {"mlp": {"Linear", "Tanh", "Sigmoid", "Softmax", "Concat"},   # eval mode: torch drops Dropout
          "cnn": {"Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Linear", "GELU",
                  "Flatten", "Concat"},
          "attention": {"Linear", "MatMul", "Softmax", "Add", "GELU", "Function"}}


def export(name: str, folder, opset: int = 17, dynamic: bool = False):
    """The model, its example input, and the ONNX file torch writes for it."""
    make, shape = MODELS[name]
    torch.manual_seed(0)
    model = make().eval()
    x = torch.randn(*shape)
    path = folder / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=opset, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "batch"}} if dynamic else None)
    return model, x, path


def onnxruntime_outputs(path, *inputs) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs)})


def initializers(path) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


@pytest.mark.parametrize("opset", [13, 20])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_an_exported_onnx_file_imports_as_blocks_with_onnxruntimes_outputs(name, opset, tmp_path, isolated):
    model, x, path = export(name, tmp_path, opset)
    result = import_source(str(path), (), "float32")
    assert result.fallbacks == [] and result.problems == []
    project = result.project
    assert check(project).ok, [str(d) for d in check(project).diagnostics]
    root = project.root_definition
    types = {n.type for n in root.nodes.values()}
    assert BLOCKS[name] <= types, types
    assert root.inputs[0].params == {"shape": list(x.shape), "dtype": "float32"}

    compiled = compile_project(project)
    compiled.load_state_dict(result.weights, strict=True)
    compiled.eval()
    with torch.no_grad():
        got = compiled(x)
    expected = onnxruntime_outputs(path, x)[0]
    np.testing.assert_allclose(got.numpy(), expected, atol=ATOL, rtol=0)
    with torch.no_grad():
        torch.testing.assert_close(got, model(x), atol=ATOL, rtol=0)

    export_plain_pytorch(project, compiled, tmp_path / "out")
    save_file({"input.0": x, "expected.0": got.contiguous()}, tmp_path / "out" / "io.safetensors")
    report = isolated({name: tmp_path / "out"})[name]
    assert report["ok"], report.get("error")
    assert report["keys"] == list(result.weights) and report["same"]


def test_the_files_initializers_are_the_modules_parameters_and_buffers_under_their_names(tmp_path):
    model, _, path = export("cnn", tmp_path, 20)
    result = import_source(str(path), (), "float32")
    stored = initializers(path)
    weights = result.weights
    # torch folds nothing into a BatchNorm that follows a ReLU: every tensor keeps the model's own name
    for key in ("conv1.weight", "conv1.bias", "conv2.weight", "bn.weight", "bn.bias", "bn.running_mean",
                "bn.running_var", "fc.weight", "fc.bias", "norm.weight", "norm.bias"):
        np.testing.assert_array_equal(weights[key].numpy(), stored[key], err_msg=key)
    assert set(weights) == set(model.state_dict())
    compiled = compile_project(result.project)
    compiled.load_state_dict(weights)
    assert {k for k, _ in compiled.named_buffers()} == {"bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}
    nodes = {n.name: n for n in result.project.root_definition.nodes.values()}
    assert nodes["bn"].params.get("eps", 1e-5) == pytest.approx(1e-5)
    assert nodes["conv2"].params["groups"] == 2 and nodes["conv2"].params["stride"] == [2, 2]
    assert nodes["conv2"].params["bias"] is False


def test_a_linear_on_three_dimensions_is_one_linear_with_the_files_weights(tmp_path):
    _, _, path = export("mlp", tmp_path, 17)
    result = import_source(str(path), (), "float32")
    stored = initializers(path)
    mix = next(n for n in result.project.root_definition.nodes.values() if n.name == "mix")
    assert mix.type == "Linear"
    matmul = next(v for k, v in stored.items() if k.startswith("onnx::MatMul"))   # torch stores W.T for MatMul
    np.testing.assert_array_equal(result.weights["mix.weight"].numpy(), matmul.T)
    np.testing.assert_array_equal(result.weights["mix.bias"].numpy(), stored["mix.bias"])


def test_constants_other_than_weights_are_parameters_or_buffers(tmp_path):
    class Offsets(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.linspace(0.5, 2.0, 6))

        def forward(self, x):
            return x * self.scale + torch.arange(6.0)

    x = torch.randn(3, 6)
    path = tmp_path / "offsets.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Offsets(), (x,), str(path), dynamo=False, opset_version=17)
    result = import_source(str(path), (), "float32")
    root = result.project.root_definition
    kinds = {n.name: n.type for n in root.nodes.values()}
    assert kinds["scale"] == "Parameter"                     # an initializer: learnable, as it was
    assert "Constant" in kinds.values()                      # a Constant operator: a buffer
    compiled = compile_project(result.project)
    compiled.load_state_dict(result.weights)
    with torch.no_grad():
        np.testing.assert_allclose(compiled(x).numpy(), onnxruntime_outputs(path, x)[0], atol=ATOL)


def test_netstudio_import_reads_an_onnx_file_with_its_own_input_shape(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NETSTUDIO_DATA_DIR", str(tmp_path / "data"))
    _, x, path = export("cnn", tmp_path, 17)
    out = tmp_path / "cnn.netstudio"
    assert main(["import", str(path), str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out) and captured.err == ""
    project, weights = load_project_and_weights(out)
    assert project.root_definition.inputs[0].params == {"shape": [2, 3, 16, 16], "dtype": "float32"}
    assert "conv1.weight" in weights
    assert main(["import", str(path), str(tmp_path / "other.netstudio"), "--input", "2,3,16,17"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "The ONNX input 'x' is (2, 3, 16, 16), which the shape (2, 3, 16, 17)" in err


def test_a_dynamic_dimension_needs_input_and_its_shape_computations_fold_away(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NETSTUDIO_DATA_DIR", str(tmp_path / "data"))
    _, _, path = export("mlp", tmp_path, 17, dynamic=True)
    assert {n.op_type for n in onnx.load(str(path)).graph.node} >= {"Shape", "Gather", "Concat", "Reshape"}
    out = tmp_path / "mlp.netstudio"
    assert main(["import", str(path), str(out)]) == 2
    err = capsys.readouterr().err
    assert err == ("netstudio: The ONNX input 'x' has dynamic dimensions (?, 6): give the input shapes with "
                   "--input, such as --input 1,6.\n")
    assert main(["import", str(path), str(out), "--input", "3,6"]) == 0
    project, weights = load_project_and_weights(out)
    assert project.root_definition.inputs[0].params["shape"] == [3, 6]
    compiled = compile_project(project)
    compiled.load_state_dict(weights)
    x = torch.randn(3, 6)
    with torch.no_grad():
        np.testing.assert_allclose(compiled(x).numpy(), onnxruntime_outputs(path, x)[0], atol=ATOL)


def test_load_model_reads_an_onnx_file_as_a_module_without_running_it(tmp_path):
    model, x, path = export("mlp", tmp_path, 20)
    module, name = load_model(str(path))
    assert name == "mlp"
    with torch.no_grad():
        torch.testing.assert_close(module(x), model(x), atol=ATOL, rtol=0)


def test_the_command_runs_as_installed(tmp_path):
    _, _, path = export("mlp", tmp_path, 20)
    out = tmp_path / "mlp.netstudio"
    done = subprocess.run([sys.executable, "-m", "netstudio.cli", "import", str(path), str(out)],
                          capture_output=True, text=True, timeout=120,
                          env={"NETSTUDIO_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert load_project_and_weights(out)[1]["out.bias"].shape == (5,)
