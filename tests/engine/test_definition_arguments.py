"""Definitions with constructor arguments: ``ConvBlock(cin, c, k)`` used with different values.

References (``{"arg": "c"}``, ``{"arg": "k", "item": 0}``) are bound per
instance by the checker, shape inference and the compiler; the exporter writes
one class with ``def __init__(self, cin=..., c=..., k=...)``; bad references,
bad values and hostile names each give one sentence on the node.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from netstudio.analysis import check
from netstudio.compiler import compile_project
from netstudio.errors import EditError
from netstudio.export import ExportError, export_plain_pytorch
from netstudio.graph import Document, Project
from netstudio.graph.arguments import MAX_ARGUMENTS, bind, reference
from netstudio.serialization import load_project
from netstudio.serialization.project_file import project_from_dict, save_project

from .builders import link


def conv_block_project(uses=(({"cin": 3, "c": 8, "k": [3, 3]}), ({"cin": 8, "c": 4, "k": [1, 1]}))) -> Document:
    """main: Input[2,3,8,8] → ConvBlock(uses[0]) → ConvBlock(uses[1]) → Output.

    ConvBlock(cin, c, k): Conv2d(cin, c, kernel_size=k, padding=k[0] // 2 as given) → ReLU."""
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    main = doc.definition("main")
    doc.set_param("main", main.inputs[0].id, "shape", [2, 3, 8, 8])
    for e in list(main.edges):
        doc.disconnect("main", e)
    doc.add_definition("ConvBlock", kind="graph", class_name="ConvBlock")
    for name, default in (("cin", 3), ("c", 8), ("k", [3, 3])):
        doc.set_argument("ConvBlock", name, default)
    block = doc.definition("ConvBlock")
    conv = doc.add_node("ConvBlock", "Conv2d", "conv", {"in_channels": reference("cin"), "out_channels": reference("c"),
                                                        "kernel_size": [reference("k", 0), reference("k", 1)],
                                                        "padding": [0, 0]})
    act = doc.add_node("ConvBlock", "ReLU", "act")
    link(doc, "ConvBlock", block.inputs[0].id, conv.id)
    link(doc, "ConvBlock", conv.id, act.id)
    link(doc, "ConvBlock", act.id, block.outputs[0].id)
    prev = main.inputs[0].id
    for i, values in enumerate(uses):
        node = doc.add_node("main", "Block", f"b{i}", {"definition": "ConvBlock", "args": values})
        link(doc, "main", prev, node.id)
        prev = node.id
    link(doc, "main", prev, main.outputs[0].id)
    return doc


def errors(project: Project) -> list[str]:
    return [d.line() for d in check(project).errors]


def node_named(doc: Document, definition: str, name: str):
    return next(n for n in doc.definition(definition).nodes.values() if n.name == name)


# ---------------------------------------------------------------- binding


def test_each_use_gets_its_own_values():
    doc = conv_block_project()
    assert errors(doc.project) == []
    net = compile_project(doc.project)
    assert tuple(net.b0.conv.weight.shape) == (8, 3, 3, 3)
    assert tuple(net.b1.conv.weight.shape) == (4, 8, 1, 1)
    assert net(torch.zeros(2, 3, 8, 8)).shape == (2, 4, 6, 6)
    result = check(doc.project)
    b1 = node_named(doc, "main", "b1")
    assert result.info(b1.id, ()).outputs["output"].shape == (2, 4, 6, 6)


def test_a_use_that_passes_nothing_takes_the_defaults():
    doc = conv_block_project(uses=({},))
    net = compile_project(doc.project)
    assert tuple(net.b0.conv.weight.shape) == (8, 3, 3, 3)


def test_values_pass_through_nested_definitions():
    doc = conv_block_project(uses=({"cin": 3, "c": 8, "k": [3, 3]},))
    # Wrap main's use in an outer definition whose own argument "width" feeds ConvBlock's c.
    doc.add_definition("Stage", kind="graph", class_name="Stage")
    doc.set_argument("Stage", "width", 5)
    stage = doc.definition("Stage")
    for e in list(stage.edges):
        doc.disconnect("Stage", e)
    inner = doc.add_node("Stage", "Block", "inner", {"definition": "ConvBlock", "args": {"c": reference("width")}})
    link(doc, "Stage", stage.inputs[0].id, inner.id)
    link(doc, "Stage", inner.id, stage.outputs[0].id)
    b0 = node_named(doc, "main", "b0")
    doc.set_param("main", b0.id, "definition", "Stage")
    doc.set_param("main", b0.id, "args", {"width": 6})
    assert errors(doc.project) == []
    net = compile_project(doc.project)
    assert tuple(net.b0.inner.conv.weight.shape) == (6, 3, 3, 3)


def test_bind_replaces_references_inside_lists_and_leaves_values():
    values = {"k": [3, 5], "c": 7}
    assert bind([reference("k", 1), 1, {"x": reference("c")}], values) == [5, 1, {"x": 7}]
    assert bind(reference("k"), values) == [3, 5] and bind(reference("k"), values) is not values["k"]


# ---------------------------------------------------------------- one sentence per mistake


@pytest.mark.parametrize("value, expected", [
    (reference("nope"), "uses the argument 'nope', which its block does not declare"),
    (reference("k", 5), "uses k[5], but k is [3, 3], which has no item 5"),
    (reference("k", "0"), "an item must be a whole number"),
    (reference("c", 0), "uses c[0], but c is 8, which has no item 0"),
])
def test_a_bad_reference_is_reported_on_its_node(value, expected):
    doc = conv_block_project()
    conv = node_named(doc, "ConvBlock", "conv")
    doc.set_param("ConvBlock", conv.id, "out_channels", value)
    found = errors(doc.project)
    assert len(found) == 1 and found[0].startswith("ConvBlock/conv:") and expected in found[0]


def test_a_bad_value_from_one_use_is_reported_at_that_use():
    doc = conv_block_project()
    doc.set_param("main", node_named(doc, "main", "b1").id, "args", {"cin": 8, "c": 0, "k": [1, 1]})
    assert errors(doc.project) == ["b1.conv: invalid hyperparameter from this use's arguments: "
                                   "'out_channels' must be between 1 and 16,777,216, not 0"]


def test_a_use_passing_an_undeclared_argument_is_an_error():
    doc = conv_block_project()
    doc.set_param("main", node_named(doc, "main", "b0").id, "args", {"cin": 3, "width": 2})
    assert errors(doc.project) == ["b0: passes the argument 'width', which ConvBlock does not declare "
                                   "(it declares cin, c, k)"]


def test_what_decides_a_block_or_its_ports_cannot_be_an_argument():
    doc = conv_block_project()
    doc.set_param("main", node_named(doc, "main", "b0").id, "definition", reference("c"))
    found = errors(doc.project)
    assert any("its definition cannot come from an argument ('c')" in f for f in found)
    doc = conv_block_project()
    fn = doc.add_node("ConvBlock", "Function", "fn", {"call": reference("c")})
    found = [d.line() for d in check(doc.project).diagnostics if d.node_id == fn.id and d.severity == "error"]
    assert found and "its call cannot come from an argument" in found[0]


@pytest.mark.parametrize("arguments, expected", [
    ({"nn": 1}, "'nn' is reserved"),
    ({"class": 1}, "'class' is a Python keyword"),
    ({"a\nb": 1}, "is not a valid name"),
    ({"c": reference("d")}, "the default of its argument c refers to an argument"),
    ({f"a{i}": i for i in range(MAX_ARGUMENTS + 1)}, f"at most {MAX_ARGUMENTS} are allowed"),
])
def test_bad_declared_arguments_from_a_file_are_reported_on_the_definition(arguments, expected):
    doc = conv_block_project()
    doc.definition("ConvBlock").arguments = arguments
    found = [d for d in check(doc.project).errors if d.definition == "ConvBlock" and d.node_id is None]
    assert found and expected in found[0].message


# ---------------------------------------------------------------- the document


def test_rename_argument_renames_references_and_what_uses_pass():
    doc = conv_block_project()
    doc.rename_argument("ConvBlock", "k", "kernel")
    conv = node_named(doc, "ConvBlock", "conv")
    assert conv.params["kernel_size"] == [reference("kernel", 0), reference("kernel", 1)]
    assert list(doc.definition("ConvBlock").arguments) == ["cin", "c", "kernel"]
    assert node_named(doc, "main", "b1").params["args"] == {"cin": 8, "c": 4, "kernel": [1, 1]}
    assert errors(doc.project) == []
    with pytest.raises(EditError, match="already has an argument named 'c'"):
        doc.rename_argument("ConvBlock", "kernel", "c")
    with pytest.raises(EditError, match="reserved"):
        doc.rename_argument("ConvBlock", "kernel", "torch")


def test_remove_argument_keeps_its_default_as_the_value():
    doc = conv_block_project()
    doc.remove_argument("ConvBlock", "c")
    assert node_named(doc, "ConvBlock", "conv").params["out_channels"] == 8
    assert node_named(doc, "main", "b1").params["args"] == {"cin": 8, "k": [1, 1]}
    assert errors(doc.project) == []


def test_set_and_use_argument_refuse_what_cannot_work():
    doc = conv_block_project()
    conv = node_named(doc, "ConvBlock", "conv")
    with pytest.raises(EditError, match="has no argument named 'x'"):
        doc.use_argument("ConvBlock", conv.id, "out_channels", "x")
    with pytest.raises(EditError, match="which has no item 2"):
        doc.use_argument("ConvBlock", conv.id, "out_channels", "k", 2)
    with pytest.raises(EditError, match="a value, not a reference"):
        doc.set_argument("ConvBlock", "d", reference("c"))
    doc.use_argument("ConvBlock", conv.id, "out_channels", "k", 1)
    assert conv.params["out_channels"] == reference("k", 1)


def test_ungroup_writes_that_uses_values_into_the_copies():
    doc = conv_block_project()
    new_ids = doc.ungroup("main", node_named(doc, "main", "b1").id)
    conv = next(doc.node("main", i) for i in new_ids if doc.node("main", i).type == "Conv2d")
    assert conv.params["out_channels"] == 4 and conv.params["kernel_size"] == [1, 1]
    assert errors(doc.project) == []


# ---------------------------------------------------------------- files


def test_arguments_survive_a_save_and_load(tmp_path):
    doc = conv_block_project()
    save_project(doc.project, tmp_path / "p.netstudio")
    loaded = load_project(tmp_path / "p.netstudio")
    assert loaded.definitions["ConvBlock"].arguments == {"cin": 3, "c": 8, "k": [3, 3]}
    assert loaded.to_dict() == doc.project.to_dict()
    assert errors(loaded) == []


def test_a_file_with_too_many_arguments_is_refused_in_one_sentence():
    data = conv_block_project().project.to_dict()
    data["definitions"]["ConvBlock"]["arguments"] = {f"a{i}": 0 for i in range(MAX_ARGUMENTS + 1)}
    with pytest.raises(Exception) as err:
        project_from_dict(json.loads(json.dumps(data)))
    assert "arguments" in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------- export


def _exported(doc: Document, tmp_path):
    net = compile_project(doc.project)
    net.eval()
    x = torch.randn(2, 3, 8, 8)
    expected = net(x)
    export_plain_pytorch(doc.project, net, tmp_path)
    spec = importlib.util.spec_from_file_location("exported_args", tmp_path / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = module.build_model()
    rebuilt.load_state_dict(net.state_dict())
    rebuilt.eval()
    assert list(rebuilt.state_dict()) == list(net.state_dict())
    assert torch.equal(rebuilt(x), expected)
    return (tmp_path / "model.py").read_text()


def test_export_writes_one_class_with_its_arguments(tmp_path):
    text = _exported(conv_block_project(), tmp_path)
    assert text.count("class ConvBlock") == 1 and "ConvBlock_2" not in text
    assert "def __init__(self, cin=3, c=8, k=(3, 3)):" in text
    assert "nn.Conv2d(cin, c, kernel_size=(k[0], k[1])" in text
    assert "self.b0 = ConvBlock(3, 8, (3, 3))" in text
    assert "self.b1 = ConvBlock(8, 4, (1, 1))" in text


def test_export_without_arguments_when_a_child_cannot_take_them(tmp_path):
    """A code block's arguments are written as values: that definition gets one class per configuration."""
    doc = conv_block_project()
    doc.set_code("Scale", "class Scale(nn.Module):\n    def __init__(self, factor=2.0):\n        super().__init__()\n"
                          "        self.factor = factor\n\n    def forward(self, X):\n        return X * self.factor\n")
    doc.set_argument("ConvBlock", "factor", 2.0)
    block = doc.definition("ConvBlock")
    act = node_named(doc, "ConvBlock", "act")
    scale = doc.add_node("ConvBlock", "Code", "scale", {"class_name": "Scale", "args": {"factor": reference("factor")}})
    doc.disconnect("ConvBlock", next(e.id for e in block.edges.values() if e.src == act.id))
    link(doc, "ConvBlock", act.id, scale.id)
    link(doc, "ConvBlock", scale.id, block.outputs[0].id)
    doc.set_param("main", node_named(doc, "main", "b1").id, "args", {"cin": 8, "c": 4, "k": [1, 1], "factor": 3.0})
    assert errors(doc.project) == []
    text = _exported(doc, tmp_path)
    assert "class ConvBlock_2" in text and "def __init__(self):" in text
    assert "Scale(factor=3.0)" in text and "Scale(factor=2.0)" in text


def test_export_refuses_an_argument_name_that_would_be_code_whatever_the_checker_said(tmp_path):
    """Defence in depth: the name reaches ``def __init__(self, ...)`` only through the name rule."""
    doc = conv_block_project()
    net = compile_project(doc.project)
    doc.definition("ConvBlock").arguments["x=__import__('os')"] = 1
    with pytest.raises(ExportError, match="An argument of 'ConvBlock' cannot be exported"):
        export_plain_pytorch(doc.project, net, tmp_path)
    assert not (tmp_path / "model.py").exists()
