"""Import → check → compile → same keys and outputs → export → same keys and outputs, for the book's models.

The contract (issue 10): the compiled network's state_dict keys are the
original's, in the same order and shapes; the original state_dict loads
strictly; outputs are identical in eval mode; and the exported model.py, run
in a Python without netstudio, again matches keys and outputs.
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from netstudio.analysis import check
from netstudio.compiler import compile_project
from netstudio.export import export_plain_pytorch
from netstudio.importer import from_module
from netstudio.importer.constructor_record import ConstructorRecord

from .book_models import BOOK_MODELS, CODE_BLOCKS, WithFixedHidden


def imported(name: str):
    """The model built as ``netstudio import`` builds it: noting each module's constructor arguments."""
    make, example = BOOK_MODELS[name]
    torch.manual_seed(0)
    with ConstructorRecord() as record:
        model = make()
    x = example()
    return model, x, from_module(model, x, record=record)


def assert_same_network(model, compiled) -> None:
    theirs, mine = model.state_dict(), compiled.state_dict()
    assert list(mine) == list(theirs)
    assert [tuple(v.shape) for v in mine.values()] == [tuple(v.shape) for v in theirs.values()]


@pytest.mark.parametrize("name", sorted(BOOK_MODELS))
def test_a_book_model_imports_as_blocks_with_its_names_weights_and_outputs(name, tmp_path, isolated):
    model, x, result = imported(name)
    assert {f.class_name for f in result.fallbacks} == CODE_BLOCKS.get(name, set()), \
        [f.line() for f in result.fallbacks]
    assert result.problems == []
    project = result.project
    assert check(project).ok
    compiled = compile_project(project)
    assert_same_network(model, compiled)
    compiled.load_state_dict(model.state_dict(), strict=True)
    model.eval(), compiled.eval()
    with torch.no_grad():
        expected, got = model(x), compiled(x)
    assert torch.equal(expected, got)

    export_plain_pytorch(project, compiled, tmp_path)
    save_file({"input.0": x, "expected.0": expected.contiguous()}, tmp_path / "io.safetensors")
    report = isolated({name: tmp_path})[name]
    assert report["ok"], report.get("error")
    assert report["keys"] == list(model.state_dict())
    assert report["same"]


def test_the_hierarchy_is_kept_and_identical_blocks_share_a_definition():
    model, _, result = imported("resnet")
    project = result.project
    root = project.root_definition
    assert root.kind == "sequential"
    residuals = {name for name, d in project.definitions.items() if d.class_name.startswith("Residual")}
    # A first block of each later stage has the 1x1 convolution, the second does not: two structures, and
    # blocks (and stages) that differ only in their widths share a definition with arguments.
    uses = {n.params["definition"] for d in project.definitions.values() for n in d.nodes.values()
            if n.type == "Block"}
    built = [type(m).__name__ for m in compile_project(project).modules()]
    assert uses == residuals and len(residuals) == 2
    assert sum(name.startswith("Residual") for name in built) == 8


def test_a_code_block_carries_the_helpers_of_its_file_and_the_arguments_it_was_built_with():
    _, _, result = imported("densenet")
    source = result.project.code["DenseBlock"]
    assert "def conv_block(" in source and "class DenseBlock(nn.Module)" in source
    assert "def densenet(" not in source and "BOOK_MODELS" not in source   # only what the class needs
    uses = [n.params["args"] for d in result.project.definitions.values() for n in d.nodes.values()
            if n.type == "Code"]
    assert uses[0] == {"num_convs": 2, "input_channels": 16, "num_channels": 8}


def test_without_the_recorded_arguments_a_class_that_keeps_none_cannot_be_rebuilt():
    from netstudio.importer import ImportFailed
    make, example = BOOK_MODELS["densenet"]
    with pytest.raises(ImportFailed, match=r"\(DenseBlock\) cannot become blocks .* cannot tell which 'num_convs'"):
        from_module(make(), example())


def test_only_the_untraceable_module_falls_back_to_code_and_the_outputs_still_match():
    torch.manual_seed(0)
    model = WithFixedHidden()
    x = torch.randn(2, 8)
    result = from_module(model, x)
    assert [(f.path, f.class_name) for f in result.fallbacks] == [("hidden", "FixedHiddenMLP")]
    assert "control flow" in result.fallbacks[0].reason
    assert "class FixedHiddenMLP(nn.Module)" in result.project.code["FixedHiddenMLP"]
    types = {n.name: n.type for n in result.project.root_definition.nodes.values()}
    assert types["inp"] == "Linear" and types["hidden"] == "Code"
    assert result.problems == []
    assert result.project.trusted   # the user's own code, imported by the user


def test_a_tensor_shared_by_different_kinds_of_blocks_is_said_to_become_two_copies():
    class TiedLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(12, 6)
            self.decoder = torch.nn.Linear(6, 12, bias=False)
            self.decoder.weight = self.embedding.weight

        def forward(self, tokens):
            return self.decoder(self.embedding(tokens))

    model = TiedLM()
    result = from_module(model, torch.zeros(2, 3, dtype=torch.long))
    assert result.problems == ["The model shares one tensor as 'embedding.weight' and 'decoder.weight'; the project "
                               "holds separate copies (a tie between blocks of different kinds is not supported "
                               "yet), so training would let them drift apart."]
    assert torch.equal(result.weights["decoder.weight"], result.weights["embedding.weight"])


def test_a_module_used_twice_stays_one_module():
    shared = torch.nn.Linear(4, 4)
    model = torch.nn.Sequential(shared, torch.nn.ReLU(), shared)
    result = from_module(model, torch.randn(2, 4))
    nodes = result.project.root_definition.chain()
    assert nodes[2].tied_to == nodes[0].id and result.problems == []
    compiled = compile_project(result.project)
    assert compiled[0] is compiled[2]


class Cell(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)

    def forward(self, x, state=None):
        if state is None:
            state = torch.zeros_like(x)
        while state.abs().sum() > 100:   # data-dependent: a code block
            state = state / 2
        h = torch.tanh(self.lin(x) + state)
        return h, state + h


class TwoSteps(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = Cell()
        self.out = torch.nn.Linear(4, 2)

    def forward(self, x):
        h, s = self.cell(x)
        h2, s2 = self.cell(h, s)
        return self.out(h2 + s2)


def test_a_stateful_code_block_is_called_with_and_without_its_state_and_gives_both_outputs():
    model, x = TwoSteps(), torch.randn(3, 4)
    result = from_module(model, x)
    assert [f.class_name for f in result.fallbacks] == ["Cell"] and result.problems == []
    nodes = {n.name: n for n in result.project.root_definition.nodes.values()}
    assert nodes["cell_1"].tied_to == nodes["cell"].id              # one module, called twice
    edges = result.project.root_definition.edges.values()
    assert {e.dst_port for e in edges if e.dst == nodes["cell"].id} == {"x"}
    assert {e.dst_port for e in edges if e.dst == nodes["cell_1"].id} == {"x", "state"}
