"""Forward patterns that become blocks: loops over containers, lists of tensors, training-only heads, odd names.

Each model here is small; the contract is the importer's (same state_dict keys
in order, strict loading, identical outputs in eval mode, and the same again
from the exported model.py in a Python without netstudio).
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from netstudio.analysis import check
from netstudio.compiler import compile_project
from netstudio.export import export_plain_pytorch
from netstudio.importer import from_module
from netstudio.importer.constructor_record import ConstructorRecord

from .book_models import BOOK_MODELS


class Loop(nn.Module):
    """Its blocks run one after another from a ModuleList, a Sequential or a ModuleDict."""

    def __init__(self, kind: str):
        super().__init__()
        layers = [nn.Sequential(nn.Linear(8, 8), nn.ReLU()) for _ in range(3)]
        self.stem = nn.Linear(4, 8)
        self.blks = {"list": lambda: nn.ModuleList(layers), "sequential": lambda: nn.Sequential(*layers),
                     "dict": lambda: nn.ModuleDict({"first": layers[0], "block1-0": layers[1], "last": layers[2]})}[kind]()
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        x = self.stem(x)
        for blk in (self.blks.values() if isinstance(self.blks, nn.ModuleDict) else self.blks):
            x = blk(x)
        return self.head(x)


class Named(nn.Module):
    """Children named as no attribute can be, run in order: a Sequential in all but its class."""

    def __init__(self):
        super().__init__()
        self.add_module("conv-1", nn.Linear(4, 6))
        self.add_module("act 1", nn.ReLU())
        self.add_module("conv-2", nn.Linear(6, 2))

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
        return x


class Stage(nn.Sequential):
    """RegNet's stages: a Sequential whose blocks are named 'block1-0', 'block1-1'..."""

    def __init__(self):
        super().__init__()
        for i in range(2):
            self.add_module(f"block1-{i}", nn.Linear(4, 4))


class WithAuxHead(nn.Module):
    """GoogLeNet's pattern: a head that runs only in training, whose output the forward then returns too."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.aux = nn.Linear(8, 3)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        h = torch.relu(self.body(x))
        y = self.out(h)
        if self.training:
            return y, self.aux(h)
        return y


class Layer(nn.Module):
    """torchvision's _DenseLayer: it takes the list of the features so far."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, kernel_size=1)

    def forward(self, features):
        return self.conv(torch.relu(torch.cat(features, 1)))


class Dense(nn.ModuleDict):
    """torchvision's _DenseBlock: each layer gets every earlier feature map; 20 are joined at the end."""

    def __init__(self, layers: int = 19):
        super().__init__({f"layer{i}": Layer(1 + i) for i in range(layers)})

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


def faithful(model: nn.Module, x: torch.Tensor, tmp_path, isolated):
    """Import ``model``, check the contract, export it and run the export alone; returns the result."""
    torch.manual_seed(0)
    result = from_module(model, x)
    assert check(result.project).ok
    compiled = compile_project(result.project)
    assert list(compiled.state_dict()) == list(model.state_dict())
    compiled.load_state_dict(model.state_dict(), strict=True)
    model.eval(), compiled.eval()
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(compiled(x), expected)
    export_plain_pytorch(result.project, compiled, tmp_path)
    save_file({"input.0": x, "expected.0": expected.contiguous()}, tmp_path / "io.safetensors")
    report = isolated({"model": tmp_path})["model"]
    assert report["ok"], report.get("error")
    assert report["keys"] == list(model.state_dict()) and report["same"]
    return result


@pytest.mark.parametrize("kind", ["list", "sequential", "dict"])
def test_a_loop_over_a_containers_items_becomes_one_sequential_node_that_keeps_their_names(kind, tmp_path, isolated):
    result = faithful(Loop(kind), torch.randn(2, 4), tmp_path, isolated)
    assert result.fallbacks == [] and result.problems == []
    nodes = {n.name: n for n in result.project.root_definition.nodes.values()}
    blks = result.project.definitions[nodes["blks"].params["definition"]]
    assert nodes["blks"].type == "Sequential" and blks.class_name == "Sequential"
    assert [n.name for n in blks.chain()] == (["first", "block1-0", "last"] if kind == "dict" else ["", "", ""])


def test_items_with_other_steps_between_them_cannot_be_nodes_and_the_reason_says_why():
    make, example = BOOK_MODELS["densenet"]   # d2l's DenseBlock: ``X = torch.cat((X, blk(X)), dim=1)``
    with ConstructorRecord() as record:
        model = make()
    result = from_module(model, example(), record=record)
    assert {f.reason for f in result.fallbacks} == {
        "its forward calls 'net.0', a module inside its child 'net', and a node's name cannot hold '.' (only a "
        "loop running all of a child's items in order, each on the previous result, becomes one node)"}


def test_children_named_as_no_attribute_can_be_keep_their_names_in_a_sequential(tmp_path, isolated):
    result = faithful(Named(), torch.randn(2, 4), tmp_path, isolated)
    root = result.project.root_definition
    assert result.fallbacks == [] and root.kind == "sequential" and root.class_name == "Named"
    assert [n.name for n in root.chain()] == ["conv-1", "act 1", "conv-2"]


def test_a_sequential_whose_children_are_named_with_hyphens_stays_a_sequential():
    result = from_module(Stage(), torch.randn(2, 4))
    root = result.project.root_definition
    assert result.fallbacks == [] and root.kind == "sequential"
    assert [n.name for n in root.chain()] == ["block1-0", "block1-1"]


def test_children_named_as_no_attribute_can_be_fall_back_with_the_reason_where_the_forward_is_no_chain():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module("conv-1", nn.Linear(4, 4))

        def forward(self, x):
            return getattr(self, "conv-1")(x) + x

    result = from_module(nn.Sequential(Skip()), torch.randn(2, 4))
    assert [f.reason for f in result.fallbacks] == [
        "a child's name cannot name a node of a graph block ('conv-1' is not a valid name: use letters, digits "
        "and underscores, not starting with a digit)"]


def test_a_child_that_holds_weights_but_is_never_called_falls_back_with_the_reason():
    class Spare(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(4, 4)
            self.spare = nn.Linear(4, 4)

        def forward(self, x):
            return self.used(x)

    result = from_module(nn.Sequential(Spare()), torch.randn(2, 4))
    assert [f.reason for f in result.fallbacks] == [
        "it registers 'spare', which holds tensors, but its forward never calls it, and a graph block holds only "
        "the modules it calls"]


def test_a_forward_that_reads_a_childs_tensor_falls_back_saying_so():
    class Reads(nn.Module):   # swin's window attention passes its children's weights to a function
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(4, 4)

        def forward(self, x):
            return torch.nn.functional.linear(x, self.qkv.weight, self.qkv.bias)

    result = from_module(nn.Sequential(Reads()), torch.randn(2, 4))
    assert [f.reason for f in result.fallbacks] == ["its forward reads 'qkv.weight', a tensor inside a child"]


@pytest.mark.parametrize("training", [False, True])
def test_a_head_called_only_in_training_is_kept_fed_as_in_training_with_its_output_unused(training, tmp_path,
                                                                                          isolated):
    model = WithAuxHead().train(training)
    result = faithful(model, torch.randn(2, 4), tmp_path, isolated)
    assert result.fallbacks == [] and result.problems == [
        "The model (WithAuxHead) calls 'aux' only in training; the project calls it always and leaves its output "
        "unused, so training the project does not train it."]
    root = result.project.root_definition
    nodes = {n.name: n.id for n in root.nodes.values()}
    assert {(e.src, e.dst) for e in root.edges.values() if nodes["aux"] in (e.src, e.dst)} == {
        (nodes["relu"], nodes["aux"])}   # fed by what feeds it in training; its output goes nowhere
    assert len(root.outputs) == 1


def test_import_leaves_every_module_in_the_mode_it_was_in():
    model = WithAuxHead().train()
    model.out.eval()
    from_module(model, torch.randn(2, 4))
    assert model.training and model.body.training and not model.out.training


def test_a_layer_that_takes_a_list_of_tensors_gets_one_input_per_tensor(tmp_path, isolated):
    result = faithful(Dense(), torch.randn(1, 1, 4, 4), tmp_path, isolated)
    assert result.fallbacks == [] and result.problems == []
    definitions = result.project.definitions
    block = definitions["main"]
    last = definitions[next(n for n in block.nodes.values() if n.name == "layer18").params["definition"]]
    assert [n.name for n in last.inputs] == [f"features_{i}" for i in range(1, 20)]
    # 20 tensors are more than one Concat joins: groups are joined first, which gives the same values
    joins = [n for n in block.nodes.values() if n.type == "Concat"]
    assert sorted(n.params["inputs"] for n in joins) == [2, 4, 16]
