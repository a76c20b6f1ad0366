"""Writes resources/examples/*.netstudio: one project for each model of the seed notes.

Each is built through the document API (the same calls the app makes) and laid
out automatically.  Run it after changing an example: ``python scripts/make_examples.py``.
"""

from __future__ import annotations

from pathlib import Path

from netstudio.graph import Document, Project
from netstudio.graph.layout import layered_positions
from netstudio.graph.ports import input_ports, output_ports
from netstudio.serialization import save_project

OUT = Path(__file__).resolve().parent.parent / "resources" / "examples"

CENTERED = '''class CenteredLayer(nn.Module):
    """A custom layer without parameters: subtracts the mean."""

    def forward(self, X):
        return X - X.mean()
'''

MY_LINEAR = '''class MyLinear(nn.Module):
    """A custom layer with parameters (weight is in_units x units)."""

    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units,))

    def forward(self, X):
        linear = torch.matmul(X, self.weight.data) + self.bias.data
        return F.relu(linear)
'''

HALVE = '''class HalveUntilSmall(nn.Module):
    """Control flow in the forward: halve X until its absolute sum is at most 1."""

    def forward(self, X):
        while X.abs().sum() > 1:
            X = X / 2
        return X
'''


class Builder:
    """Small helpers over the document API for writing examples."""

    def __init__(self, name: str, description: str, root_kind: str, class_name: str, shape: list[int]):
        self.doc = Document(Project(name=name, description=description, definitions={}))
        self.doc.add_definition("main", kind=root_kind, class_name=class_name)
        self.doc.set_param("main", self.doc.definition("main").inputs[0].id, "shape", shape)

    def chain(self, definition: str, blocks: list[tuple]) -> list[str]:
        """Replace the Input→Output edge of a Sequential definition by a chain of blocks."""
        d = self.doc.definition(definition)
        for e in list(d.edges):
            self.doc.disconnect(definition, e)
        ids, prev = [], d.inputs[0].id
        for block in blocks:
            type_, params, name = (tuple(block) + (None,))[:3]
            node = self.doc.add_node(definition, type_, name, params)
            self.doc.connect(definition, prev, _out_port(self.doc, definition, prev), node.id,
                             _in_port(self.doc, definition, node.id))
            prev = node.id
            ids.append(node.id)
        self.doc.connect(definition, prev, _out_port(self.doc, definition, prev), d.outputs[0].id, "in")
        return ids

    def node(self, definition: str, type_: str, name: str, params: dict | None = None) -> str:
        return self.doc.add_node(definition, type_, name, params or {}).id

    def wire(self, definition: str, *pairs: tuple) -> None:
        for pair in pairs:
            src, dst = pair[0], pair[1]
            port = pair[2] if len(pair) > 2 else _in_port(self.doc, definition, dst)
            self.doc.connect(definition, src, _out_port(self.doc, definition, src), dst, port)

    def io(self, definition: str) -> tuple[str, str]:
        d = self.doc.definition(definition)
        return d.inputs[0].id, d.outputs[0].id

    def save(self, filename: str) -> None:
        for d in self.doc.project.definitions.values():
            for node_id, pos in layered_positions(d).items():
                self.doc.move(d.name, node_id, pos)
        save_project(self.doc.project, OUT / filename, backup=False)


def _in_port(doc: Document, definition: str, node_id: str) -> str:
    return input_ports(doc.project, doc.node(definition, node_id))[0]


def _out_port(doc: Document, definition: str, node_id: str) -> str:
    return output_ports(doc.project, doc.node(definition, node_id))[0]


LAZY = lambda n: ("Linear", {"out_features": n})  # noqa: E731


def mlp() -> None:
    b = Builder("mlp", "The first example: 20 -> 256 -> ReLU -> 10 as an nn.Sequential.", "sequential",
                "Sequential", [2, 20])
    b.chain("main", [("Linear", {"in_features": 20, "out_features": 256}), ("ReLU", {}),
                     ("Linear", {"in_features": 256, "out_features": 10})])
    b.save("mlp.netstudio")


def graph_mlp(b: Builder, definition: str) -> None:
    x, out = b.io(definition)
    hidden = b.node(definition, "Linear", "hidden", {"out_features": 256})
    relu = b.node(definition, "ReLU", "relu")
    o = b.node(definition, "Linear", "out", {"out_features": 10})
    b.wire(definition, (x, hidden), (hidden, relu), (relu, o), (o, out))


def mlp_block() -> None:
    b = Builder("mlp_block", "The same MLP as a custom block with named children hidden and out.", "graph",
                "MLP", [2, 20])
    graph_mlp(b, "main")
    b.save("mlp_block.netstudio")


def my_sequential() -> None:
    b = Builder("my_sequential", "A hand-made Sequential: children registered as 0, 1, 2.", "sequential",
                "MySequential", [2, 20])
    b.chain("main", [LAZY(256), ("ReLU", {}), LAZY(10)])
    b.save("my_sequential.netstudio")


def fixed_hidden(b: Builder, definition: str) -> None:
    b.doc.set_code("HalveUntilSmall", HALVE)
    x, out = b.io(definition)
    linear = b.node(definition, "Linear", "linear", {"out_features": 20})
    rand_weight = b.node(definition, "Constant", "rand_weight", {"shape": [20, 20], "fill": "rand"})
    matmul = b.node(definition, "MatMul", "matmul")
    plus_one = b.node(definition, "AddScalar", "add", {"value": 1.0})
    relu = b.node(definition, "ReLU", "relu")
    again = b.node(definition, "Linear", "linear_again", {"out_features": 20})
    b.doc.tie(definition, again, linear)
    halve = b.node(definition, "Code", "halve", {"class_name": "HalveUntilSmall", "args": {}})
    total = b.node(definition, "Sum", "total")
    b.wire(definition, (x, linear), (linear, matmul, "a"), (rand_weight, matmul, "b"), (matmul, plus_one),
           (plus_one, relu), (relu, again), (again, halve, "X"), (halve, total), (total, out))


def fixed_hidden_mlp() -> None:
    b = Builder("fixed_hidden_mlp", "A constant random weight, one Linear used twice, and a while loop in code.",
                "graph", "FixedHiddenMLP", [2, 20])
    fixed_hidden(b, "main")
    b.save("fixed_hidden_mlp.netstudio")


def nest(b: Builder, definition: str) -> None:
    b.doc.add_definition("NestMLP_net", kind="sequential")
    b.chain("NestMLP_net", [LAZY(64), ("ReLU", {}), LAZY(32), ("ReLU", {})])
    x, out = b.io(definition)
    net = b.node(definition, "Sequential", "net", {"definition": "NestMLP_net"})
    linear = b.node(definition, "Linear", "linear", {"out_features": 16})
    b.wire(definition, (x, net), (net, linear), (linear, out))


def nest_mlp() -> None:
    b = Builder("nest_mlp", "A block that holds a Sequential and a Linear.", "graph", "NestMLP", [2, 20])
    nest(b, "main")
    b.save("nest_mlp.netstudio")


def chimera() -> None:
    b = Builder("chimera", "Blocks of every kind nested: NestMLP, a Linear, and FixedHiddenMLP in a Sequential.",
                "sequential", "Sequential", [2, 20])
    b.doc.add_definition("NestMLP", kind="graph")
    nest(b, "NestMLP")
    b.doc.add_definition("FixedHiddenMLP", kind="graph")
    fixed_hidden(b, "FixedHiddenMLP")
    b.chain("main", [("Block", {"definition": "NestMLP"}), LAZY(20), ("Block", {"definition": "FixedHiddenMLP"})])
    b.save("chimera.netstudio")


def param_access() -> None:
    b = Builder("param_access", "The network of the parameter access and initialization sections (input 2x4).",
                "sequential", "Sequential", [2, 4])
    b.chain("main", [LAZY(8), ("ReLU", {}), LAZY(1)])
    b.save("param_access.netstudio")


def rgnet() -> None:
    b = Builder("rgnet", "Nested blocks: four copies of block1 inside block2, then a Linear.", "sequential",
                "Sequential", [2, 4])
    b.doc.add_definition("block1", kind="sequential")
    b.chain("block1", [("Linear", {"in_features": 4, "out_features": 8}), ("ReLU", {}),
                       ("Linear", {"in_features": 8, "out_features": 4}), ("ReLU", {})])
    b.doc.add_definition("block2", kind="sequential")
    b.chain("block2", [("Sequential", {"definition": "block1"}, f"block {i}") for i in range(4)])
    b.chain("main", [("Sequential", {"definition": "block2"}), ("Linear", {"in_features": 4, "out_features": 1})])
    b.save("rgnet.netstudio")


def tied() -> None:
    b = Builder("tied", "Tied parameters: one Linear used at positions 2 and 4.", "sequential", "Sequential",
                [2, 20])
    ids = b.chain("main", [LAZY(8), ("ReLU", {}), LAZY(8), ("ReLU", {}), LAZY(8), ("ReLU", {}), LAZY(1)])
    b.doc.tie("main", ids[4], ids[2])
    b.save("tied.netstudio")


def lazy_mlp() -> None:
    b = Builder("lazy_mlp", "Deferred initialization: no input sizes given; parameters appear at the first forward.",
                "sequential", "Sequential", [2, 20])
    b.chain("main", [LAZY(256), ("ReLU", {}), LAZY(10)])
    b.save("lazy_mlp.netstudio")


def centered() -> None:
    b = Builder("centered", "A custom layer without parameters after a Linear (input 4x8).", "sequential",
                "Sequential", [4, 8])
    b.doc.set_code("CenteredLayer", CENTERED)
    b.chain("main", [("Linear", {"in_features": 8, "out_features": 128}),
                     ("Code", {"class_name": "CenteredLayer", "args": {}})])
    b.save("centered.netstudio")


def my_linear() -> None:
    b = Builder("my_linear", "A custom layer with parameters, used twice with different sizes.", "sequential",
                "Sequential", [2, 64])
    b.doc.set_code("MyLinear", MY_LINEAR)
    b.chain("main", [("Code", {"class_name": "MyLinear", "args": {"in_units": 64, "units": 8}}),
                     ("Code", {"class_name": "MyLinear", "args": {"in_units": 8, "units": 1}})])
    b.save("my_linear.netstudio")


def lenet() -> None:
    b = Builder("lenet", "LeNet-5 for 28x28 grayscale images (ReLU, max pooling and batch norm, as trained "
                "today): Train it on Shapes (bundled), four classes, with cross-entropy.", "sequential",
                "Sequential", [2, 1, 28, 28])
    b.chain("main", [("Conv2d", {"in_channels": 1, "out_channels": 6, "kernel_size": [5, 5], "padding": [2, 2]}),
                     ("BatchNorm2d", {"num_features": 6}), ("ReLU", {}), ("MaxPool2d", {"kernel_size": [2, 2]}),
                     ("Conv2d", {"in_channels": 6, "out_channels": 16, "kernel_size": [5, 5]}),
                     ("BatchNorm2d", {"num_features": 16}), ("ReLU", {}), ("MaxPool2d", {"kernel_size": [2, 2]}),
                     ("Flatten", {}),
                     ("Linear", {"in_features": 400, "out_features": 120}), ("BatchNorm1d", {"num_features": 120}),
                     ("ReLU", {}),
                     ("Linear", {"in_features": 120, "out_features": 84}), ("BatchNorm1d", {"num_features": 84}),
                     ("ReLU", {}),
                     ("Linear", {"in_features": 84, "out_features": 4})])
    b.save("lenet.netstudio")


EXAMPLES = (mlp, mlp_block, my_sequential, fixed_hidden_mlp, nest_mlp, chimera, param_access, rgnet, tied,
            lazy_mlp, centered, my_linear, lenet)

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for make in EXAMPLES:
        make()
        print("wrote", make.__name__)
