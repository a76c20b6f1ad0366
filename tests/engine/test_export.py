"""Plain-PyTorch export: every example's model.py runs where NetStudio cannot be imported.

Each bundled example is exported with ``netstudio export`` (in-process), its
input and the compiled network's output are saved with safetensors, and one
subprocess whose Python cannot import netstudio imports every model.py, loads
model.safetensors with ``load_state_dict`` and compares.  model.safetensors
also loads into the hand-written twins of ``twins.py``.
"""

from __future__ import annotations

import ast
import json
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from netstudio.analysis import check
from netstudio.cli import main
from netstudio.compiler import compile_project
from netstudio.errors import NetStudioError
from netstudio.export import (ExportError, export_onnx, export_plain_pytorch, materialize, onnx_available,
                              state_dict_for_saving)
from netstudio.export.constructors import NotExpressible, base_namespace, constructor_call
from netstudio.export.literals import tensor_literal
from netstudio.graph import Document, Project
from netstudio.graph.ports import input_ports
from netstudio.serialization import load_project

from .builders import chain_project
from .test_examples import copy_constants
from .twins import TWINS

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
ALLOWED_IMPORTS = {"torch", "math", "operator", "collections", "os"}


# ---------------------------------------------------------------- a project using every block


def kitchen_sink_project() -> Project:
    """Every catalog block; a block used at two input sizes; big, small and persistent constants; a tie."""
    doc = Document(Project(name="kitchen sink", definitions={}))
    doc.set_code("Scale", "class Scale(nn.Module):\n    def __init__(self, factor=2.0):\n        super().__init__()\n"
                          "        self.factor = factor\n\n    def forward(self, X):\n        return X * self.factor\n")
    # A graph block used twice: its deferred Linear sizes itself differently at each use.
    doc.add_definition("Head", kind="graph", class_name="Head")
    head = doc.definition("Head")
    proj = doc.add_node("Head", "Linear", "proj", {"out_features": 5})
    act = doc.add_node("Head", "GELU", "act", {"approximate": "tanh"})
    doc.connect("Head", head.inputs[0].id, "out", proj.id, "in")
    doc.connect("Head", proj.id, "out", act.id, "in")
    doc.connect("Head", act.id, "out", head.outputs[0].id, "in")
    # A graph block with two outputs.
    doc.add_definition("Split", kind="graph", class_name="Split")
    split = doc.definition("Split")
    second = doc.add_node("Split", "Output", "second")
    tanh, sig = doc.add_node("Split", "Tanh", "tanh"), doc.add_node("Split", "Sigmoid", "sig")
    doc.connect("Split", split.inputs[0].id, "out", tanh.id, "in")
    doc.connect("Split", split.inputs[0].id, "out", sig.id, "in")
    doc.connect("Split", tanh.id, "out", split.outputs[0].id, "in")
    doc.connect("Split", sig.id, "out", second.id, "in")
    # A Sequential subclass with op modules, a code block and a tie.
    doc.add_definition("Tail", kind="sequential", class_name="Tail")
    tail = doc.definition("Tail")
    for e in list(tail.edges):
        doc.disconnect("Tail", e)
    prev, made = tail.inputs[0].id, []
    for type_, params in [("Linear", {"in_features": 10, "out_features": 10}), ("AddScalar", {"value": 0.5}),
                          ("Linear", {"in_features": 10, "out_features": 10}), ("MulScalar", {"value": -1.5}),
                          ("Code", {"class_name": "Scale", "args": {"factor": 3.0}}), ("Dropout", {"p": 0.25}),
                          ("Identity", {}), ("Softmax", {"dim": 1}), ("Sum", {"dim": 1, "keepdim": True}),
                          ("Mean", {})]:
        node = doc.add_node("Tail", type_, None, params)
        doc.connect("Tail", prev, "out", node.id, input_ports(doc.project, node)[0])
        prev = node.id
        made.append(node.id)
    doc.connect("Tail", prev, "out", tail.outputs[0].id, "in")
    doc.tie("Tail", made[2], made[0])

    doc.add_definition("main", kind="graph", class_name="KitchenSink")
    d = doc.definition("main")
    doc.rename("main", d.inputs[0].id, "image")
    doc.set_param("main", d.inputs[0].id, "shape", [2, 3, 8, 8])
    tokens = doc.add_node("main", "Input", "tokens", {"shape": [2, 5], "dtype": "int64"})

    def add(type_, name, params, *sources):
        node = doc.add_node("main", type_, name, params)
        for (src, port), dst_port in zip(sources, input_ports(doc.project, node)):
            doc.connect("main", src, port, node.id, dst_port)
        return node.id

    conv = add("Conv2d", "conv", {"out_channels": 4, "padding": [1, 1], "bias": False}, (d.inputs[0].id, "out"))
    bn = add("BatchNorm2d", "bn", {}, (conv, "out"))
    relu = add("ReLU", "relu", {}, (bn, "out"))
    avg = add("AvgPool2d", "avg", {"kernel_size": [3, 3], "stride": [2, 2], "ceil_mode": True}, (relu, "out"))
    mx = add("MaxPool2d", "mx", {"kernel_size": [2, 2]}, (avg, "out"))
    ada = add("AdaptiveAvgPool2d", "ada", {"output_size": [1, 1]}, (mx, "out"))
    flat = add("Flatten", "flat", {}, (ada, "out"))
    head1 = add("Block", "head1", {"definition": "Head"}, (flat, "out"))  # 4 features in
    emb = add("Embedding", "emb", {"num_embeddings": 10, "embedding_dim": 6}, (tokens.id, "out"))
    pool = add("Mean", "pool", {"dim": 1}, (emb, "out"))
    ln = add("LayerNorm", "ln", {"normalized_shape": [6], "bias": False}, (pool, "out"))
    head2 = add("Block", "head2", {"definition": "Head"}, (ln, "out"))  # 6 features in
    cat = add("Concat", "cat", {"dim": 1}, (head1, "output"), (head2, "output"))
    big = add("Constant", "big", {"shape": [10, 500], "fill": "randn"})
    small = add("Constant", "small", {"shape": [10], "fill": "values", "values": [0.1 * i for i in range(10)],
                                      "persistent": True})
    big_persistent = add("Constant", "big_persistent", {"shape": [5000], "fill": "rand", "persistent": True})
    mm = add("MatMul", "mm", {}, (cat, "out"), (big, "out"))
    bn1 = add("BatchNorm1d", "bn1", {}, (mm, "out"))
    fc = add("Linear", "fc", {"out_features": 10}, (bn1, "out"))
    plus = add("Add", "plus", {}, (fc, "out"), (small, "out"))
    sp = add("Block", "split", {"definition": "Split"}, (plus, "out"))
    times = add("Multiply", "times", {}, (sp, "output"), (sp, "second"))
    tl = add("Sequential", "tail", {"definition": "Tail"}, (times, "out"))
    total_big = add("Sum", "total_big", {}, (big_persistent, "out"))
    total = add("Add", "total", {}, (tl, "output"), (total_big, "out"))
    doc.connect("main", total, "out", d.outputs[0].id, "in")
    return doc.project


# ---------------------------------------------------------------- exporting everything once


@dataclass
class Case:
    project: Project
    net: nn.Module
    inputs: tuple[torch.Tensor, ...]
    expected: torch.Tensor
    folder: Path


def _record(root: Path, name: str, project: Project, inputs: tuple[torch.Tensor, ...]) -> Case:
    """Compile again (the seed makes it the exported network), run it in eval mode, save input and output."""
    net = compile_project(project)
    materialize(project, net)
    net.eval()
    with torch.no_grad():
        expected = net(*inputs)
    io = {f"input.{i}": x for i, x in enumerate(inputs)}
    io["expected"] = expected
    io.update({f"buffer.{k}": v for k, v in net.named_buffers() if k not in net.state_dict()})
    (root / "io").mkdir(exist_ok=True)
    save_file(io, root / "io" / f"{name}.safetensors", metadata={"repr": repr(net)})
    return Case(project, net, inputs, expected, root / "export" / name)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, dict[str, Case]]:
    root = tmp_path_factory.mktemp("exported")
    cases = {}
    for name, (_, shape) in sorted(TWINS.items()):
        path = EXAMPLES / f"{name}.netstudio"
        assert main(["export", str(path), str(root / "export" / name), "--trust"]) == 0
        torch.manual_seed(1)
        cases[name] = _record(root, name, load_project(path, trusted=True), (torch.rand(*shape),))
    project = kitchen_sink_project()
    export_plain_pytorch(project, compile_project(project), root / "export" / "kitchen_sink")
    torch.manual_seed(2)
    cases["kitchen_sink"] = _record(root, "kitchen_sink", project,
                                    (torch.rand(2, 3, 8, 8), torch.randint(0, 10, (2, 5))))
    return root, cases


ISOLATED = r'''
import importlib.util, json, sys, traceback
config = json.loads(sys.argv[1])
sys.path.extend(config["site"])
report = {}
try:
    import netstudio  # noqa: F401
    report["netstudio_importable"] = True
except ImportError:
    report["netstudio_importable"] = False
import torch
from safetensors.torch import load_file, safe_open

for i, name in enumerate(config["names"]):
    folder = f"{config['root']}/export/{name}"
    try:
        spec = importlib.util.spec_from_file_location(f"exported_{i}", f"{folder}/model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.build_model()
        model.load_state_dict(load_file(f"{folder}/model.safetensors"))  # strict
        model.eval()
        io = load_file(f"{config['root']}/io/{name}.safetensors")
        with safe_open(f"{config['root']}/io/{name}.safetensors", "pt") as f:
            compiled_repr = f.metadata()["repr"]
        inputs = [io[f"input.{k}"] for k in range(sum(key.startswith("input.") for key in io))]
        with torch.no_grad():
            out = model(*inputs)
        torch.testing.assert_close(out, io["expected"])
        buffers = dict(model.named_buffers())
        same_constants = all(torch.equal(buffers[key[len("buffer."):]], value)
                             for key, value in io.items() if key.startswith("buffer."))
        info = {"ok": True, "same_constants": same_constants, "same_repr": repr(model) == compiled_repr,
                "max_diff": float((out.double() - io["expected"].double()).abs().max())}
        if name == "tied":
            info["tied"] = model[2] is model[4] and model[2] is not model[0] and model[2] is not model[6]
        report[name] = info
    except Exception:
        report[name] = {"ok": False, "error": traceback.format_exc()}
report["netstudio_loaded"] = sorted(m for m in sys.modules if m.split(".")[0] == "netstudio")
print(json.dumps(report))
'''


@pytest.fixture(scope="module")
def isolated_report(exported) -> dict:
    """Run every model.py in one Python that cannot import netstudio (no site, no repo on the path)."""
    root, cases = exported
    config = {"root": str(root), "names": sorted(cases), "site": site.getsitepackages()}
    # -I: no PYTHONPATH, no user site, no script folder; -S: no .pth files, so no editable install of netstudio.
    done = subprocess.run([sys.executable, "-I", "-S", "-c", ISOLATED, json.dumps(config)], cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_checking_python_cannot_import_netstudio(isolated_report):
    assert isolated_report["netstudio_importable"] is False
    assert isolated_report["netstudio_loaded"] == []


@pytest.mark.parametrize("name", sorted(TWINS) + ["kitchen_sink"])
def test_exported_model_reproduces_the_compiled_network(isolated_report, name):
    info = isolated_report[name]
    assert info["ok"], info.get("error")
    assert info["same_constants"]
    assert info["same_repr"] or name == "kitchen_sink"  # its Head is used at two sizes: Head and Head_2


def test_tied_layers_stay_one_module_in_model_py(isolated_report, exported):
    assert isolated_report["tied"]["tied"] is True
    text = (exported[0] / "export" / "tied" / "model.py").read_text()
    assert text.count("shared = nn.Linear(in_features=8, out_features=8, bias=True)") == 1
    assert "('2', shared)," in text and "('4', shared)," in text


@pytest.mark.parametrize("name", sorted(TWINS))
def test_weights_load_into_the_hand_written_twin(exported, name):
    _, cases = exported
    case = cases[name]
    factory, shape = TWINS[name]
    twin = factory()
    twin(torch.rand(*shape))  # materialise lazy twins
    weights = load_file(case.folder / "model.safetensors")
    assert sorted(weights) == sorted(case.net.state_dict())  # exactly the state_dict keys
    for key, value in case.net.state_dict().items():
        assert torch.equal(weights[key], value)
    twin.load_state_dict(weights)
    copy_constants(case.net, twin)
    twin.eval()
    with torch.no_grad():
        torch.testing.assert_close(twin(*case.inputs), case.expected)


@pytest.mark.parametrize("name", sorted(TWINS) + ["kitchen_sink"])
def test_model_py_imports_only_torch(exported, name):
    text = (exported[0] / "export" / name / "model.py").read_text()
    assert "netstudio" not in text.lower()
    imported = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= ALLOWED_IMPORTS | {"safetensors"}
    top_level = {a.name.split(".")[0] for node in ast.parse(text).body if isinstance(node, ast.Import)
                 for a in node.names} | {node.module.split(".")[0] for node in ast.parse(text).body
                                         if isinstance(node, ast.ImportFrom)}
    assert top_level <= ALLOWED_IMPORTS  # safetensors only inside load_constant, for big constants
    assert "model = build_model()" in text and 'load_file("model.safetensors")' in text


def test_model_py_reads_like_hand_written_pytorch(exported):
    folder = exported[0] / "export"
    mlp_block = (folder / "mlp_block" / "model.py").read_text()
    assert "class MLP(nn.Module):" in mlp_block
    assert "self.hidden = nn.Linear(in_features=20, out_features=256, bias=True)" in mlp_block
    assert "hidden = self.hidden(x)" in mlp_block and "= None" not in mlp_block
    rgnet = (folder / "rgnet" / "model.py").read_text()
    assert "('block 0', make_block1())," in rgnet and rgnet.count("def make_block1():") == 1
    my_sequential = (folder / "my_sequential" / "model.py").read_text()
    assert "class MySequential(nn.Sequential):" in my_sequential
    my_linear = (folder / "my_linear" / "model.py").read_text()
    assert load_project(EXAMPLES / "my_linear.netstudio").code["MyLinear"].strip() in my_linear
    assert "('0', MyLinear(in_units=64, units=8))," in my_linear
    fixed = (folder / "fixed_hidden_mlp" / "model.py").read_text()
    assert "self.register_buffer('rand_weight', torch.tensor([" in fixed and "persistent=False)" in fixed
    assert not (folder / "fixed_hidden_mlp" / "constants.safetensors").exists()


def test_kitchen_sink_details(exported):
    folder = exported[0] / "export" / "kitchen_sink"
    text = (folder / "model.py").read_text()
    for snippet in ("class AddScalar(nn.Module):", "class Head(nn.Module):", "class Head_2(nn.Module):",
                    "nn.AvgPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(0, 0), ceil_mode=True)",
                    "bias=False", "F.gelu(", "load_constant('big')", "class Tail(nn.Sequential):",
                    "('0', shared),", "('2', shared),", "Scale(factor=3.0)"):
        assert snippet in text, snippet
    assert "class Sum(nn.Module)" in text and "class Mean(nn.Module)" in text
    assert set(load_file(folder / "constants.safetensors")) == {"big"}
    assert "big_persistent" in load_file(folder / "model.safetensors")


def test_cli_export_in_a_real_subprocess_matches_in_process(exported, tmp_path):
    done = subprocess.run([sys.executable, "-m", "netstudio.cli", "export", str(EXAMPLES / "chimera.netstudio"),
                           str(tmp_path), "--trust"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path / "model.py"), str(tmp_path / "model.safetensors")]
    before = exported[0] / "export" / "chimera"
    assert (tmp_path / "model.py").read_text() == (before / "model.py").read_text()  # deterministic
    a, b = load_file(tmp_path / "model.safetensors"), load_file(before / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- pieces and failure modes


def test_export_materializes_without_changing_state(tmp_path):
    doc, _ = chain_project([("BatchNorm1d", {}), ("Linear", {"out_features": 3}), ("Dropout", {"p": 0.5})])
    net = compile_project(doc.project)
    assert net.training
    result = export_plain_pytorch(doc.project, net, tmp_path / "out")
    assert [p.name for p in result.paths] == ["model.py", "model.safetensors"]
    assert result.model_py.exists() and result.weights.exists()
    assert net.training and all(m.training for m in net.modules())
    assert torch.equal(net[0].running_mean, torch.zeros(20)) and int(net[0].num_batches_tracked) == 0
    assert tuple(net[1].weight.shape) == (3, 20)


def test_stale_constants_file_is_removed(tmp_path):
    doc, _ = chain_project([("Linear", {"out_features": 3})])
    (tmp_path / "constants.safetensors").write_bytes(b"old")
    export_plain_pytorch(doc.project, compile_project(doc.project), tmp_path)
    assert not (tmp_path / "constants.safetensors").exists()


def test_deferred_sizes_need_an_example_shape(tmp_path):
    doc, _ = chain_project([("Linear", {"out_features": 3})])
    net = compile_project(doc.project)
    doc.set_param("main", doc.project.root_definition.inputs[0].id, "shape", None)
    with pytest.raises(ExportError, match="declares no example shape"):
        export_plain_pytorch(doc.project, net, tmp_path)
    assert not (tmp_path / "model.py").exists()


def test_a_module_unlike_the_project_is_refused(examples_dir, tmp_path):
    project = load_project(examples_dir / "mlp.netstudio")
    other = load_project(examples_dir / "rgnet.netstudio")
    with pytest.raises(ExportError, match="does not match the project"):
        export_plain_pytorch(project, compile_project(other), tmp_path)

    class Custom(nn.Module):
        def forward(self, x):
            return x

    net = compile_project(project)
    net[1] = Custom()
    with pytest.raises(ExportError, match="cannot be written as a constructor call"):
        export_plain_pytorch(project, net, tmp_path)
    assert not (tmp_path / "model.py").exists()


@pytest.mark.parametrize("module", [
    nn.Linear(3, 4, bias=False), nn.Conv2d(2, 6, 3, stride=2, padding=1, groups=2, bias=False),
    nn.AvgPool2d(3, 2, ceil_mode=True, count_include_pad=False), nn.MaxPool2d(2, ceil_mode=True),
    nn.BatchNorm1d(5, momentum=None, affine=False), nn.LayerNorm([4, 3], eps=1e-3, bias=False),
    nn.Embedding(7, 3, padding_idx=0), nn.GELU("tanh"), nn.Softmax(0), nn.Flatten(0, 1), nn.Dropout(0.1),
    nn.Identity(), nn.ReLU(inplace=True)], ids=lambda m: type(m).__name__)
def test_constructor_calls_rebuild_the_module(module):
    call = constructor_call(module, base_namespace())
    assert call.startswith(f"nn.{type(module).__name__}(")
    rebuilt = eval(call, base_namespace())  # noqa: S307
    assert repr(rebuilt) == repr(module)
    assert {k: v for k, v in vars(rebuilt).items() if not k.startswith("_")} == \
        {k: v for k, v in vars(module).items() if not k.startswith("_")}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in module.state_dict().items()}


def test_materialized_lazy_modules_are_written_as_what_they_became():
    lazy = nn.LazyConv2d(8, 3)
    lazy(torch.zeros(1, 2, 5, 5))
    assert constructor_call(lazy, base_namespace()) == "nn.Conv2d(2, 8, kernel_size=(3, 3), stride=(1, 1))"
    with pytest.raises(NotExpressible):
        constructor_call(nn.Bilinear(2, 2, 2).to(torch.float64), base_namespace())


@pytest.mark.parametrize("tensor", [
    torch.tensor([0.1, -0.0, float("nan"), float("inf"), -float("inf"), 1e-45, 3.4028234663852886e38]),
    torch.randn(3, 4, dtype=torch.float64), torch.randn(2, 3).half(), torch.randn(5).bfloat16(),
    torch.arange(-3, 9, dtype=torch.int64).reshape(2, 2, 3), torch.tensor([True, False]), torch.tensor(2.5),
    torch.zeros(0, 3)], ids=["specials", "float64", "float16", "bfloat16", "int64", "bool", "scalar", "empty"])
def test_tensor_literals_round_trip_exactly(tensor):
    import math
    back = eval(tensor_literal(tensor), {"torch": torch, "math": math})  # noqa: S307
    assert back.dtype == tensor.dtype and back.shape == tensor.shape
    assert torch.equal(back.nan_to_num(0.0) if back.is_floating_point() else back,
                       tensor.nan_to_num(0.0) if tensor.is_floating_point() else tensor)
    if tensor.is_floating_point():
        assert torch.equal(torch.isnan(back), torch.isnan(tensor)) and torch.equal(back.signbit(), tensor.signbit())


def test_state_dict_for_saving_unshares_tied_tensors(examples_dir, tmp_path):
    project = load_project(examples_dir / "tied.netstudio")
    net = compile_project(project)
    materialize(project, net)
    tensors = state_dict_for_saving(net)
    assert list(tensors) == list(net.state_dict())
    assert tensors["2.weight"].data_ptr() != tensors["4.weight"].data_ptr()
    assert torch.equal(tensors["2.weight"], tensors["4.weight"])
    save_file(tensors, tmp_path / "ok.safetensors")  # safetensors refuses shared tensors


def test_graph_module_checks_still_pass_after_export(examples_dir, tmp_path):
    project = load_project(examples_dir / "nest_mlp.netstudio")
    assert check(project).ok
    net = compile_project(project)
    export_plain_pytorch(project, net, tmp_path)
    x = torch.rand(2, 20)
    assert net(x).shape == (2, 16)  # the compiled network still works as before


@pytest.mark.skipif(onnx_available(), reason="the onnx package is installed")
def test_onnx_export_without_the_onnx_package_says_so(tmp_path):
    with pytest.raises(NetStudioError, match="onnx package"):
        export_onnx(nn.Linear(2, 3), torch.zeros(1, 2), tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_onnx_export_writes_a_model(tmp_path, examples_dir):
    pytest.importorskip("onnx")
    project = load_project(examples_dir / "mlp.netstudio")
    net = compile_project(project)
    path = export_onnx(net, torch.zeros(2, 20), tmp_path / "model.onnx")
    import onnx
    onnx.checker.check_model(onnx.load(str(path)))
    assert net.training
