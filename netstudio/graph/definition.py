"""A definition: a named graph of nodes and edges, compiled to one module class.

The project's root is a definition; so is every reusable block (NestMLP inside
chimera, rgnet's ``block 0`` ... ``block 3``).  ``kind`` is ``"sequential"``
(an ``nn.Sequential``: a single chain from the Input to the Output) or
``"graph"`` (named children and a generated forward).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .edge import Edge
from .node import Node

KINDS = ("sequential", "graph")


@dataclass
class Definition:
    name: str
    kind: str = "graph"
    class_name: str = ""
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)
    # Constructor arguments and their defaults (``graph/arguments.py``): {"c1": 64, "c2": [96, 128]}.
    arguments: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.class_name:
            self.class_name = "Sequential" if self.kind == "sequential" else self.name

    # -- queries (a node's edges: ``Document.incoming``/``outgoing``, from its index) ----
    def nodes_of_role(self, types: tuple[str, ...]) -> list[Node]:
        return [n for n in self.nodes.values() if n.type in types]

    @property
    def inputs(self) -> list[Node]:
        return self.nodes_of_role(("Input",))

    @property
    def outputs(self) -> list[Node]:
        return self.nodes_of_role(("Output",))

    def chain(self) -> list[Node] | None:
        """For a sequential definition: the nodes between Input and Output in order.

        None when the edges do not form one simple chain through every node.
        """
        ins, outs = self.inputs, self.outputs
        if len(ins) != 1 or len(outs) != 1:
            return None
        nxt: dict[str, str] = {}
        for e in self.edges.values():
            if e.src in nxt:
                return None
            nxt[e.src] = e.dst
        order, seen, current = [], {ins[0].id}, ins[0].id
        while current in nxt:
            current = nxt[current]
            if current in seen or current not in self.nodes:   # a loop, or an edge to a missing node
                return None
            seen.add(current)
            order.append(self.nodes[current])
        if current != outs[0].id or len(seen) != len(self.nodes) or len(self.edges) != len(order):
            return None
        return order[:-1]

    def effective_name(self, node: Node, chain_index: dict[str, int] | None = None) -> str:
        """A node's module name; unnamed children of a Sequential take their position."""
        if node.name or self.kind != "sequential":
            return node.name
        if chain_index is None:
            chain_index = {n.id: i for i, n in enumerate(self.chain() or ())}
        return str(chain_index[node.id]) if node.id in chain_index else ""

    # -- serialisation -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "class_name": self.class_name}
        if self.arguments:
            out["arguments"] = copy.deepcopy(self.arguments)
        out["nodes"] = [n.to_dict() for n in self.nodes.values()]
        out["edges"] = [e.to_dict() for e in self.edges.values()]
        return out

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> "Definition":
        d = cls(name=name, kind=data.get("kind", "graph"), class_name=data.get("class_name", ""),
                arguments=copy.deepcopy(data.get("arguments", {})))
        for nd in data.get("nodes", []):
            node = Node.from_dict(nd)
            d.nodes[node.id] = node
        for ed in data.get("edges", []):
            edge = Edge.from_dict(ed)
            d.edges[edge.id] = edge
        return d
