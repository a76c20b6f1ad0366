"""Hostile ONNX files: one sentence (exit 2) for each, nothing allocated from a size the file claims, no file
read but the one named, no code run from any string in it.

Every file here is written with ``onnx.helper``, as an attacker would write one:
bad bytes, sizes far beyond memory, external data pointing out of the folder,
operators that do not exist or are named like Python attributes, and names
carrying code, newlines and Unicode.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper  # noqa: E402

from netstudio.analysis import check  # noqa: E402
from netstudio.cli import main  # noqa: E402
from netstudio.compiler import compile_project  # noqa: E402
from netstudio.export import export_plain_pytorch  # noqa: E402
from netstudio.graph.names import NameKind, name_problem, node_name_kind  # noqa: E402
from netstudio.importer import ImportFailed, import_source  # noqa: E402
from netstudio.importer import onnx_file  # noqa: E402
from netstudio.limits import set_memory_budget  # noqa: E402

PAYLOAD = "__import__('os').system('touch MARKER')"


def tensor(name: str, values, dtype=np.float32) -> TensorProto:
    return onnx.numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def raw_tensor(name: str, dims, raw: bytes = b"", data_type=TensorProto.FLOAT) -> TensorProto:
    """A tensor as a file may hold it, whatever its sizes say (onnx.helper would check them)."""
    t = TensorProto()
    t.name, t.data_type, t.raw_data = name, data_type, raw
    t.dims.extend(dims)
    return t


def write(folder, nodes, inputs=(("x", [2, 3]),), outputs=("y",), initializers=(), opset=17, name="model.onnx",
          input_type=TensorProto.FLOAT):
    graph = helper.make_graph(
        list(nodes), "g", [helper.make_tensor_value_info(n, input_type, shape) for n, shape in inputs],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = folder / name
    path.write_bytes(model.SerializeToString())
    return path


def refused(capsys, path, *args) -> str:
    """Run ``netstudio import`` on ``path``: exit 2 and one line, which is returned."""
    out = path.parent / "out.netstudio"
    assert main(["import", str(path), str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("netstudio: ") and "Traceback" not in err, err
    assert not out.exists()
    return err[len("netstudio: "):].strip()


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NETSTUDIO_DATA_DIR", str(tmp_path / "data"))


@pytest.mark.parametrize("data", [b"", b"\x00\xff garbage \x12\x34", b"\x0a\xff\xff\xff\xff\x0f",
                                  b"\x3a" + b"\x80" * 20])
def test_bytes_that_are_not_an_onnx_model_are_one_sentence(tmp_path, capsys, data):
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    assert refused(capsys, path).startswith("model.onnx is not a valid ONNX file")


def test_a_truncated_model_is_one_sentence(tmp_path, capsys):
    path = write(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], initializers=[tensor("w", np.ones(1000))])
    path.write_bytes(path.read_bytes()[:-2000])
    assert refused(capsys, path) == "model.onnx is not a valid ONNX file."


def test_a_missing_file_is_one_sentence(tmp_path, capsys):
    assert refused(capsys, tmp_path / "nowhere.onnx") == f"There is no file '{tmp_path / 'nowhere.onnx'}'."


def test_without_the_onnx_package_importing_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, [helper.make_node("Relu", ["x"], ["y"])])
    monkeypatch.setitem(sys.modules, "onnx", None)   # import onnx now raises ImportError
    assert refused(capsys, path) == ("Importing an ONNX file needs the onnx package, which is not installed "
                                     "(pip install onnx).")


def test_every_unsupported_operator_is_named_in_one_bounded_line(tmp_path, capsys):
    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["z"])], "b", [],
                               [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("NonMaxSuppression", ["x"], ["a"]),
             helper.make_node("If", ["x"], ["b"], then_branch=branch, else_branch=branch),
             helper.make_node("FusedConv", ["x"], ["c"], domain="com.microsoft"),
             helper.make_node("__class__", ["x"], ["d"]),
             helper.make_node("Relu.__globals__", ["x"], ["e"]),
             helper.make_node("X" * 5000 + "\n\x1b[2J", ["x"], ["f"]),
             helper.make_node("Sum", ["a", "b", "c", "d", "e", "f"], ["y"])]
    message = refused(capsys, write(tmp_path, nodes))
    assert message.startswith("The ONNX file uses operators NetStudio cannot import: ")
    for name in ("NonMaxSuppression", "If", "com.microsoft:FusedConv", "__class__", "Relu.__globals__"):
        assert name in message
    assert len(message) < 600 and "\x1b" not in message


@pytest.mark.parametrize("op", ["__init__", "forward", "Relu.forward", "__getattribute__", "eval", "MatMulAdd"])
def test_an_operator_is_looked_up_in_the_table_never_as_an_attribute(tmp_path, capsys, op):
    message = refused(capsys, write(tmp_path, [helper.make_node(op, ["x"], ["y"])]))
    assert message == f"The ONNX file uses operator NetStudio cannot import: {op}."


def test_operators_nothing_depends_on_are_not_converted(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Loop", ["x"], ["unused"])]
    assert import_source(str(write(tmp_path, nodes)), (), "float32").project.root_definition is not None


@pytest.mark.parametrize("location", ["../../../../etc/passwd", "/etc/passwd", "weights.bin"])
def test_external_data_is_refused_wherever_it_points(tmp_path, capsys, location):
    (tmp_path / "weights.bin").write_bytes(b"\0" * 24)
    weight = raw_tensor("w", [2, 3])
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "24")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    path = write(tmp_path, [helper.make_node("Add", ["x", "w"], ["y"])], initializers=[weight])
    assert refused(capsys, path) == ("The ONNX initializer 'w' is stored in a separate file; NetStudio imports only "
                                     "ONNX files that hold all their tensors (save the model without external data).")


def test_an_initializer_claiming_petabytes_is_refused_before_anything_is_allocated(tmp_path, capsys):
    huge = raw_tensor("w", [1 << 25, 1 << 25])
    path = write(tmp_path, [helper.make_node("Add", ["x", "w"], ["y"])], initializers=[huge])
    start = time.monotonic()
    message = refused(capsys, path)
    assert time.monotonic() - start < 5
    assert message.startswith("The ONNX initializer 'w' of shape (33554432, 33554432) would take 4.0 PB, more "
                              "than the memory budget of ")


@pytest.mark.parametrize("dims, raw, message", [
    ([4], b"\0" * 15, "The ONNX initializer 'w' has 15 bytes of data for 4 values: the file is damaged."),
    ([2, -3], b"", "The ONNX initializer 'w' has a negative dimension."),
    ([1] * 9, b"\0" * 4, "The ONNX initializer 'w' has 9 dimensions; NetStudio holds at most 8."),
])
def test_an_initializer_whose_sizes_do_not_add_up_is_one_sentence(tmp_path, capsys, dims, raw, message):
    w = raw_tensor("w", dims, raw)
    path = write(tmp_path, [helper.make_node("Add", ["x", "w"], ["y"])], initializers=[w])
    assert refused(capsys, path) == message


def test_an_initializer_of_a_type_netstudio_cannot_hold_is_one_sentence(tmp_path, capsys):
    w = helper.make_tensor("w", TensorProto.STRING, [1], vals=[b"rm -rf"])
    path = write(tmp_path, [helper.make_node("Add", ["x", "w"], ["y"])], initializers=[w])
    assert refused(capsys, path) == "The ONNX file uses tensors of type STRING, which NetStudio cannot hold."


def test_an_input_claiming_too_much_memory_is_refused_before_it_is_made(tmp_path, capsys):
    path = write(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], inputs=[("x", [1 << 20, 1 << 20])])
    message = refused(capsys, path)
    assert message.startswith("The ONNX input 'x' of shape (1048576, 1048576) would take 4.0 TB, more than the "
                              "memory budget")


def test_an_operator_that_would_make_a_huge_tensor_is_refused_from_its_shape_alone(tmp_path, capsys):
    shape = tensor("shape", [1 << 20, 1 << 20], np.int64)
    path = write(tmp_path, [helper.make_node("Expand", ["x", "shape"], ["y"])], inputs=[("x", [1, 1])],
                 initializers=[shape])
    message = refused(capsys, path)
    assert message.startswith("The ONNX node '' ('Expand') would make a tensor of shape (1048576, 1048576), 4.0 TB, "
                              "more than the memory budget")


def test_a_file_larger_than_the_memory_budget_is_not_read(tmp_path, capsys):
    path = write(tmp_path, [helper.make_node("Add", ["x", "w"], ["y"])], initializers=[tensor("w", np.ones((2, 3)))])
    set_memory_budget(path.stat().st_size - 1)
    try:
        message = refused(capsys, path)
    finally:
        set_memory_budget(None)
    assert message.startswith("model.onnx is ") and "more than the" in message


def test_too_many_operators_are_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(onnx_file, "MAX_NODES", 3)
    nodes = [helper.make_node("Relu", ["x" if i == 0 else f"v{i}"], [f"v{i + 1}" if i < 3 else "y"]) for i in range(4)]
    assert refused(capsys, write(tmp_path, nodes)) == "model.onnx has 4 operators; NetStudio imports at most 3."


@pytest.mark.parametrize("nodes, message", [
    ([helper.make_node("Relu", ["later"], ["y"]), helper.make_node("Relu", ["x"], ["later"])],
     "The ONNX node '' ('Relu') uses 'later', which no earlier node computes."),
    ([helper.make_node("Relu", ["x"], ["x"]), helper.make_node("Relu", ["x"], ["y"])],
     "The ONNX node '' ('Relu') computes 'x' a second time."),
    ([helper.make_node("Relu", ["ghost"], ["y"])],
     "The ONNX node '' ('Relu') uses 'ghost', which no earlier node computes."),
    ([helper.make_node("MaxPool", ["x"], ["p", "indices"], kernel_shape=[2]),
      helper.make_node("Relu", ["indices"], ["y"])],
     "The ONNX node '' ('Relu') uses 'indices', which NetStudio does not compute."),
    ([helper.make_node("Conv", ["x", "w"], ["y"], strides="two")],
     "The ONNX node '' ('Conv') has an attribute 'strides' of the wrong kind."),
    ([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 0])],
     "The ONNX node '' ('Transpose') has a permutation [0, 0] for a tensor of 2 dimensions."),
    ([helper.make_node("Reshape", ["x", "x"], ["y"])],
     "The ONNX node '' ('Reshape') computes its shape in the graph; NetStudio needs it constant."),
    ([helper.make_node("Softmax", ["x"], ["y"], axis=7)],
     "The ONNX node '' ('Softmax') works along axis 7 of a tensor of 2 dimensions."),
])
def test_a_graph_that_does_not_hold_together_is_one_sentence(tmp_path, capsys, nodes, message):
    w = tensor("w", np.ones((4, 3, 1)))
    x_inputs = [("x", [2, 3, 5])] if any(n.op_type in ("Conv", "MaxPool") for n in nodes) else [("x", [2, 3])]
    assert refused(capsys, write(tmp_path, nodes, inputs=x_inputs, initializers=[w])) == message


def test_a_computation_torch_rejects_is_one_sentence_naming_the_node(tmp_path, capsys):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="/layer\n/MatMul")]
    message = refused(capsys, write(tmp_path, nodes, initializers=[tensor("w", np.ones((4, 5)))]))
    assert message.startswith("The ONNX node '/layer\\n/MatMul' ('MatMul') cannot be computed: ")


@pytest.mark.parametrize("args, message", [
    ((), "The ONNX input 'x' has dynamic dimensions (?, 3): give the input shapes with --input, such as --input 1,3."),
    (("--input", "2,4"), "The ONNX input 'x' is (?, 3), which the shape (2, 4) does not fit."),
    (("--input", "2,3,1"), "The ONNX input 'x' is (?, 3), which the shape (2, 3, 1) does not fit."),
    (("--input", "2,3;2,3"), "The ONNX model takes 1 input, but 2 shapes were given."),
    (("--input", "2,3", "--dtype", "int64"), "The ONNX input 'x' is torch.float32, not the int64 asked for."),
])
def test_input_shapes_must_fit_the_files(tmp_path, capsys, args, message):
    path = write(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], inputs=[("x", ["batch", 3])])
    assert refused(capsys, path, *args) == message


def test_an_input_of_a_type_no_block_holds_is_one_sentence(tmp_path, capsys):
    path = write(tmp_path, [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)],
                 input_type=TensorProto.UINT8)
    assert refused(capsys, path) == "The ONNX input 'x' is torch.uint8, which NetStudio cannot hold."


HOSTILE_NAMES = [PAYLOAD, "a\nb\x1b[31m", "self", "forward", "training", "__class__", "class", "0", "", "ﬁ",
                 "x" * 5000, "fc.weight", "../../etc/passwd", "torch", "F"]


def test_names_from_the_file_are_data_and_become_valid_names(tmp_path, isolated, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = iter(HOSTILE_NAMES * 4)
    nodes, inits, value = [], [], None
    first = next(names)
    for i in range(len(HOSTILE_NAMES)):
        w, b_, out = next(names), next(names), f"{next(names)}#{i}"
        inits += [tensor(f"{w}.weight", np.full((3, 3), 0.1 * (i + 1))), tensor(f"{b_}.bias", np.ones(3))]
        nodes.append(helper.make_node("Gemm", [value or first, f"{w}.weight", f"{b_}.bias"], [out], name=w, transB=1))
        value = out
    nodes.append(helper.make_node("Relu", [value], ["y"], name=PAYLOAD))
    path = write(tmp_path, nodes, inputs=[(first, [2, 3])], initializers=inits)
    result = import_source(str(path), (), "float32")
    project = result.project
    assert check(project).ok
    for d in project.definitions.values():
        for n in d.nodes.values():
            from netstudio.catalog import get_block
            assert name_problem(n.name, node_name_kind(d.kind, get_block(n.type).role)) is None, n.name
    assert all(name_problem(part, NameKind.CHILD) is None for k in result.weights for part in k.split("."))
    assert {n.name for n in project.root_definition.nodes.values() if n.type == "Linear"} >= {"torch", "linear_0"}
    compiled = compile_project(project)
    compiled.load_state_dict(result.weights)
    x = torch.randn(2, 3)
    with torch.no_grad():
        expected = compiled(x)
    export_plain_pytorch(project, compiled, tmp_path / "out")
    save_file({"input.0": x, "expected.0": expected}, tmp_path / "out" / "io.safetensors")
    report = isolated({"m": tmp_path / "out"})["m"]
    assert report["ok"] and report["same"], report.get("error")
    assert not list(tmp_path.rglob("MARKER"))


def test_every_failure_of_the_reader_is_import_failed_not_a_traceback(tmp_path):
    # a Constant holding text, an attribute naming a function's, a subgraph where a tensor is expected
    bad = helper.make_node("Constant", [], ["c"], value_string="rm -rf /")
    with pytest.raises(ImportFailed, match="holds text or a sparse tensor"):
        import_source(str(write(tmp_path, [bad, helper.make_node("Add", ["x", "c"], ["y"])])), (), "float32")
    ref = helper.make_node("Relu", ["x"], ["y"])
    attribute = ref.attribute.add()
    attribute.name, attribute.ref_attr_name, attribute.type = "alpha", "outer", onnx.AttributeProto.FLOAT
    with pytest.raises(ImportFailed, match="refers to a function's attribute"):
        import_source(str(write(tmp_path, [ref])), (), "float32")


def test_names_that_are_not_utf8_are_read_as_text(tmp_path, capsys):
    path = write(tmp_path, [helper.make_node("QQQQ", ["x"], ["y"], name="NNNN")])
    path.write_bytes(path.read_bytes().replace(b"QQQQ", b"\xff\xfeQQ").replace(b"NNNN", b"\xc3(NN"))
    assert refused(capsys, path) == "The ONNX file uses operator NetStudio cannot import: \ufffd\ufffdQQ."


def test_many_tensors_each_within_the_budget_are_refused_together(tmp_path, capsys):
    nodes = [helper.make_node("ConstantOfShape", ["shape"], [f"c{i}"]) for i in range(8)]
    nodes += [helper.make_node("Sum", ["x"] + [f"c{i}" for i in range(8)], ["y"])]
    path = write(tmp_path, nodes, inputs=[("x", [256, 256])], initializers=[tensor("shape", [256, 256], np.int64)])
    set_memory_budget(1 << 20)   # 1 MB: each constant (256 KB) fits, eight do not
    try:
        message = refused(capsys, path)
    finally:
        set_memory_budget(None)
    assert message == ("The ONNX node '' ('ConstantOfShape') takes the tensors of the graph past the memory budget "
                       "of 1.0 MB.")


def test_layers_whose_weights_are_not_float32_are_one_sentence(tmp_path, capsys):
    w = tensor("fc.weight", np.ones((4, 3)), np.float64)
    path = write(tmp_path, [helper.make_node("Gemm", ["x", "fc.weight"], ["y"], transB=1)], initializers=[w])
    assert refused(capsys, path) == ("The ONNX node '' ('Gemm') holds its weight as float64; NetStudio imports "
                                     "layers whose weights are float32.")
