"""Imported definitions that differ only in values merge into one definition with arguments.

GoogLeNet's nine Inception blocks become one ``Inception(in_channels, c1, c2, c3, c4)``,
named after the class's own ``__init__`` where the constructor record shows it,
and exported as a person writes it; blocks that differ in structure stay apart.
"""

from __future__ import annotations

import torch

from netstudio.analysis import check
from netstudio.compiler import compile_project
from netstudio.export import export_plain_pytorch
from netstudio.graph.arguments import reference
from netstudio.importer import from_module
from netstudio.importer.constructor_record import ConstructorRecord

from .book_models import googlenet, resnet18


def _imported(make, shape, record: bool = True):
    torch.manual_seed(0)
    if record:
        with ConstructorRecord() as rec:
            model = make()
    else:
        model, rec = make(), None
    model.eval()
    x = torch.randn(*shape)
    result = from_module(model, x, record=rec)
    return model, x, result.project


def _classes(project) -> list[str]:
    return sorted(d.class_name for d in project.definitions.values() if d.class_name != "Sequential")


def test_googlenets_inception_blocks_become_one_definition_named_as_in_its_init(tmp_path):
    model, x, project = _imported(googlenet, (1, 1, 96, 96))
    inception = [d for d in project.definitions.values() if d.class_name.startswith("Inception")]
    assert len(inception) == 1
    d = inception[0]
    assert d.arguments == {"in_channels": 192, "c1": 64, "c2": [96, 128], "c3": [16, 32], "c4": 32}
    b2_2 = next(n for n in d.nodes.values() if n.name == "b2_2")
    assert b2_2.params["in_channels"] == reference("c2", 0) and b2_2.params["out_channels"] == reference("c2", 1)
    uses = [n for _, node_id in project.uses_of(d.name) for n in [project.find_node(node_id)[1]]]
    assert len(uses) == 9 and uses[-1].params["args"] == {"in_channels": 832, "c1": 384, "c2": [192, 384],
                                                          "c3": [48, 128], "c4": 128}
    assert check(project).errors == []
    net = compile_project(project)
    net.load_state_dict(model.state_dict())
    net.eval()
    assert torch.equal(net(x), model(x))
    export_plain_pytorch(project, net, tmp_path)
    text = (tmp_path / "model.py").read_text()
    assert text.count("class Inception") == 1
    assert "def __init__(self, in_channels=192, c1=64, c2=(96, 128), c3=(16, 32), c4=32):" in text
    assert "Inception(832, 384, (192, 384), (48, 128), 128)" in text


def test_without_a_record_arguments_are_named_after_their_layers():
    _, _, project = _imported(googlenet, (1, 1, 96, 96), record=False)
    inception = [d for d in project.definitions.values() if d.class_name.startswith("Inception")]
    assert len(inception) == 1
    assert "b1_1_out_channels" in inception[0].arguments and "b2_2_in_channels" in inception[0].arguments
    assert check(project).errors == []


def test_blocks_that_differ_in_structure_stay_apart():
    """d2l's Residual with and without its 1×1 convolution: two definitions, each with arguments."""
    model, x, project = _imported(resnet18, (1, 1, 32, 32))
    residuals = [d for d in project.definitions.values() if d.class_name.startswith("Residual")]
    assert sorted(d.class_name for d in residuals) == ["Residual", "Residual_2"]
    assert sorted(len(d.nodes) for d in residuals) == [9, 10]   # the second one has conv3
    assert all(d.arguments for d in residuals)
    net = compile_project(project)
    net.load_state_dict(model.state_dict())
    net.eval()
    assert torch.equal(net(x), model(x))
