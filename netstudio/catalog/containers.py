"""Containers: a use of a block definition, which is a graph of its own.

``Sequential`` definitions compile to ``nn.Sequential`` (children named "0",
"1", ... unless named otherwise, as rgnet's "block 0"); ``Block`` definitions
compile to a module whose forward is generated code.  A definition can be used
by several nodes; each use gets its own parameters.  The ports of a container
node are the Input and Output nodes of its definition; its ``args`` are its
values of the definition's constructor arguments (``graph/arguments.py``).
"""

from __future__ import annotations

from .block_spec import BlockSpec, Role
from .params import ParamSpec

CONTAINERS = "Containers"
KIND_OF_CONTAINER = {"Sequential": "sequential", "Block": "graph"}

SEQUENTIAL = BlockSpec(
    "Sequential", CONTAINERS, "A chain of blocks run in order, like nn.Sequential.",
    params=(ParamSpec("definition", "str", "Sequential", "the sequential definition this node uses", key=True),
            ParamSpec("args", "json", {}, "this use's values of the definition's arguments")),
    inputs=("in",), role=Role.CONTAINER, icon="mdi6.format-list-numbered")

BLOCK = BlockSpec(
    "Block", CONTAINERS, "A reusable sub-graph with named children, like a custom nn.Module.",
    params=(ParamSpec("definition", "str", "Block", "the block definition this node uses", key=True),
            ParamSpec("args", "json", {}, "this use's values of the definition's arguments")),
    inputs=("in",), role=Role.CONTAINER, icon="mdi6.cube-outline")

BLOCKS = (SEQUENTIAL, BLOCK)
