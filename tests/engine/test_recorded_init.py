"""Initialization stored in the project is replayed by every compile, bit for bit."""

from __future__ import annotations

import torch

from netstudio.compiler import compile_project
from netstudio.graph import Document
from netstudio.graph.module_paths import node_places
from netstudio.serialization import load_project, project_from_dict


def test_node_init_setting_applies_to_every_instance(examples_dir):
    doc = Document(load_project(examples_dir / "chimera.netstudio", trusted=True))
    inner = doc.definition("NestMLP_net")
    first = inner.chain()[0]
    doc.set_init("NestMLP_net", first.id, "weight", {"scheme": "constant", "args": {"value": 0.5}})
    net = compile_project(doc.project)
    net(torch.rand(2, 20))
    assert torch.all(net[0].net[0].weight == 0.5)


def test_project_assignments_and_edits_replay_after_materialization(examples_dir):
    doc = Document(load_project(examples_dir / "param_access.netstudio"))
    doc.set_setting("initializers", [
        {"scope": {"module_type": "Linear", "leaf": "weight"}, "scheme": "normal", "args": {"mean": 0.0, "std": 0.01}},
        {"scope": {"module_type": "Linear", "leaf": "bias"}, "scheme": "zeros", "args": {}},
    ])
    doc.set_setting("edits", [{"name": "0.weight", "op": "set", "value": 42.0, "index": [0, 0]}])
    a, b = compile_project(doc.project), compile_project(project_from_dict(doc.project.to_dict()))
    x = torch.rand(2, 4)
    ya, yb = a(x), b(x)
    assert torch.equal(ya, yb)
    assert a[0].weight[0, 0] == 42 and torch.all(a[0].bias == 0) and torch.all(a[2].bias == 0)
    others = a[0].weight.flatten()[1:]
    assert others.abs().max() < 0.1


def test_node_places_follow_module_names(examples_dir):
    project = load_project(examples_dir / "tied.netstudio")
    assert [p.module_path for p in node_places(project)] == ["0", "1", "2", "3", "4", "5", "6"]
    project = load_project(examples_dir / "chimera.netstudio", trusted=True)
    paths = [p.module_path for p in node_places(project)]
    assert paths[:3] == ["0", "0.net", "0.net.0"] and "2.linear" in paths and "2.halve" in paths
    net = compile_project(project)
    modules = dict(net.named_modules())
    assert all(p in modules for p in paths)
