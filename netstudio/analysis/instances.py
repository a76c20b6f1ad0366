"""What shape inference keeps of each instance of a definition between two checks.

Checking a later version of a project (an immutable snapshot, see ``graph/snapshots.py``,
that shares every unchanged node, edge and definition object with the one before)
starts from these records: an instance whose inputs, argument values and
definitions are the same objects as last time is reused whole, and in one that
changed only the nodes that changed, and those downstream of them, are inferred
again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalog import TensorSpec
from ..graph.definition import Definition
from .diagnostics import Diagnostic

CONTAINERS = ("Block", "Sequential")


@dataclass
class Instance:
    definition: Definition
    inputs: dict[str, TensorSpec]
    names: tuple[str, ...]
    values: dict[str, Any]
    arguments: dict[str, Any]                # the definition's declared defaults, as inferred with
    bad: frozenset[str]
    context: object                          # the project's code and trust, as inferred with
    infos: dict[str, Any] = field(default_factory=dict)                 # node -> NodeInfo
    reports: dict[str, list[Diagnostic]] = field(default_factory=dict)  # node -> what inferring it found
    results: dict[str, TensorSpec] = field(default_factory=dict)        # Output node -> its tensor
    sizes: dict[str, int] = field(default_factory=dict)                 # node -> bytes it owns, when any
    children: set[str] = field(default_factory=set)                     # containers with an inferred instance
    ties: list[Diagnostic] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)         # all of the above, in order

    def same_call(self, d: Definition, inputs, names, values, context) -> bool:
        """Whether this instance was inferred for the same use (what changed inside is found apart)."""
        return (self.definition.name == d.name and self.context is context and self.names == names
                and self.inputs == inputs and self.values == values and self.arguments == d.arguments)


def changed_nodes(inst: Instance, d: Definition, bad: frozenset[str], tied: list, dirty_definitions) -> set[str]:
    """Nodes of ``d`` to infer again in ``inst``: the new, changed or removed ones, those whose incoming
    edges changed or whose checker verdict did, those tied to any of these, and containers whose
    definition (or one nested in it) changed."""
    old = inst.definition
    dirty = set(inst.bad ^ bad)
    if old is not d:
        dirty.update(i for i, n in d.nodes.items() if old.nodes.get(i) is not n)
        dirty.update(i for i in old.nodes if i not in d.nodes)
        if old.edges is not d.edges:
            dirty.update(e.dst for i, e in d.edges.items() if old.edges.get(i) is not e)
            dirty.update(e.dst for i, e in old.edges.items() if d.edges.get(i) is not e)
        dirty.update(n.id for n in tied if n.tied_to in dirty)
    if dirty_definitions:
        dirty.update(i for i, n in d.nodes.items() if n.type in CONTAINERS
                     and n.text_param("definition") in dirty_definitions)
    return dirty


def live_paths(instances: dict[tuple[str, ...], Instance]) -> set[tuple[str, ...]]:
    """Instances reached from the root through containers inferred in the latest check."""
    live, stack = set(), [()] if () in instances else []
    while stack:
        path = stack.pop()
        live.add(path)
        stack.extend(path + (c,) for c in instances[path].children if path + (c,) in instances)
    return live
