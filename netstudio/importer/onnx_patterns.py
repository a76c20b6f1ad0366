"""Groups of ONNX operators that are one block: read as one node before the graph is converted.

* ``MatMul`` by a constant matrix, then ``Add`` of a constant vector: what
  torch writes for ``nn.Linear`` on inputs of more than two dimensions; one
  ``nn.Linear`` with its bias.
* ``x / √2 → Erf → + 1 → · x → · 0.5``: GELU as written before operator set 20
  had ``Gelu``; one ``nn.GELU`` (Erf alone has no block).

A group is fused only when its inner values are used nowhere else.  Nodes no
graph output depends on are dropped, so they need no block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .onnx_file import Graph, Node

_FLOAT_TYPES = (1, 10, 11, 16)


@dataclass
class FusedNode(Node):
    """A node made here, never read from a file: only these reach the table of fused operators."""


def live_nodes(graph: Graph, nodes: list[Node]) -> list[Node]:
    """The nodes some graph output depends on, in their order."""
    needed = set(graph.outputs)
    kept = []
    for node in reversed(nodes):
        if any(out in needed for out in node.outputs if out):
            kept.append(node)
            needed.update(i for i in node.inputs if i)
    return kept[::-1]


def fuse(graph: Graph, nodes: list[Node]) -> list[Node]:
    producer = {out: node for node in nodes for out in node.outputs if out}
    users: dict[str, list[Node]] = {}
    for node in nodes:
        for name in node.inputs:
            users.setdefault(name, []).append(node)
    outputs = set(graph.outputs)
    replaced: dict[int, Node | None] = {}

    def only_user(name: str, op_type: str) -> Node | None:
        found = users.get(name, [])
        if name in outputs or len(found) != 1 or found[0].op_type != op_type or found[0].domain not in ("", "ai.onnx") \
                or id(found[0]) in replaced:
            return None
        return found[0]

    def scalar(name: str) -> float | None:
        if name in graph.initializers:
            t = graph.initializers[name]
            if math.prod(t.dims) == 1 and t.data_type in _FLOAT_TYPES:
                return float(graph.initializer(name).reshape(-1)[0])
            return None
        node = producer.get(name)
        value = node.attributes.get("value") if node is not None and node.op_type == "Constant" else None
        return float(value.reshape(-1)[0]) if value is not None and value.numel() == 1 \
            and value.is_floating_point() else None

    def other(node: Node, name: str) -> str | None:
        if len(node.inputs) != 2 or name not in node.inputs or node.inputs[0] == node.inputs[1]:
            return None
        return node.inputs[1] if node.inputs[0] == name else node.inputs[0]

    def near(value: float | None, target: float) -> bool:
        return value is not None and abs(value - target) <= 1e-4 * abs(target)

    for node in nodes:
        if node.domain not in ("", "ai.onnx") or id(node) in replaced:
            continue
        if node.op_type == "Erf" and len(node.inputs) == 1 and len(node.outputs) == 1:
            div = producer.get(node.inputs[0])
            if div is None or only_user(node.inputs[0], "Erf") is not node or len(div.inputs) != 2:
                continue
            x = div.inputs[0]
            if not ((div.op_type == "Div" and near(scalar(div.inputs[1]), math.sqrt(2)))
                    or (div.op_type == "Mul" and near(scalar(div.inputs[1]), math.sqrt(0.5)))):
                continue
            add = only_user(node.outputs[0], "Add")
            if add is None or not near(scalar(other(add, node.outputs[0]) or ""), 1.0):
                continue
            first = only_user(add.outputs[0], "Mul")
            second = first and only_user(first.outputs[0], "Mul")
            if second is None:
                continue
            factors = {other(first, add.outputs[0]), other(second, first.outputs[0])}
            half = next((f for f in factors if f != x), None)
            if x not in factors or half is None or not near(scalar(half), 0.5):
                continue
            gelu = Node("Gelu", "", second.name or node.name, (x,), second.outputs, {"approximate": "none"})
            replaced.update({id(div): None, id(node): None, id(add): None, id(first): None, id(second): gelu})
        elif node.op_type == "MatMul" and len(node.inputs) == 2 and len(node.outputs) == 1:
            w = graph.initializers.get(node.inputs[1])
            add = only_user(node.outputs[0], "Add")
            bias_name = other(add, node.outputs[0]) if add is not None else None
            bias = graph.initializers.get(bias_name) if bias_name else None
            if w is None or bias is None or len(w.dims) != 2 or list(bias.dims) != [w.dims[1]] \
                    or w.data_type not in _FLOAT_TYPES or bias.data_type != w.data_type:
                continue
            fused = FusedNode("MatMulAdd", "", node.name, (node.inputs[0], node.inputs[1], bias_name), add.outputs, {})
            replaced.update({id(node): None, id(add): fused})
    return [replaced.get(id(n), n) for n in nodes if replaced.get(id(n), n) is not None]
