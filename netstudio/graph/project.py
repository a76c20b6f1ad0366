"""A project: the root definition, the reusable definitions, code blocks and settings."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .definition import Definition

FORMAT = "netstudio-project"
VERSION = 1


@dataclass
class Project:
    """Everything a ``.netstudio`` file holds besides weights.

    ``trusted`` is not saved: a project read from a file starts untrusted, and
    its code blocks do not run until the user says so.
    """

    name: str = "untitled"
    description: str = ""
    seed: int | None = 0
    root: str = "main"
    definitions: dict[str, Definition] = field(default_factory=dict)
    code: dict[str, str] = field(default_factory=dict)
    initializers: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    trusted: bool = True

    @property
    def root_definition(self) -> Definition:
        return self.definitions[self.root]

    def find_node(self, node_id: str):
        """(definition, node) holding ``node_id``, or (None, None)."""
        for d in self.definitions.values():
            if node_id in d.nodes:
                return d, d.nodes[node_id]
        return None, None

    def reachable_from(self, start: str) -> set[str]:
        """Definitions that ``start`` contains, directly or through nested containers (itself included)."""
        seen: set[str] = set()
        stack = [start]
        while stack:
            name = stack.pop()
            if name in seen or name not in self.definitions:
                continue
            seen.add(name)
            for n in self.definitions[name].nodes.values():
                if n.type in ("Block", "Sequential") and n.text_param("definition"):
                    stack.append(n.text_param("definition"))
        return seen

    def first_instance_path(self, definition: str) -> tuple[str, ...] | None:
        """The container node ids leading from the root to a first use of ``definition`` (breadth first)."""
        queue: list[tuple[str, tuple[str, ...]]] = [(self.root, ())]
        seen: set[str] = set()
        while queue:
            name, path = queue.pop(0)
            if name == definition:
                return path
            if name in seen or name not in self.definitions:
                continue
            seen.add(name)
            for n in self.definitions[name].nodes.values():
                child = n.text_param("definition")
                if n.type in ("Block", "Sequential") and child:
                    queue.append((child, path + (n.id,)))
        return None

    def definition_at(self, path: tuple[str, ...]) -> str | None:
        """The definition shown at instance ``path`` (container node ids from the root), or None."""
        name = self.root
        for node_id in path:
            d = self.definitions.get(name)
            node = d.nodes.get(node_id) if d else None
            if node is None or node.type not in ("Block", "Sequential"):
                return None
            name = node.text_param("definition")
        return name if name in self.definitions else None

    def uses_of(self, definition: str) -> list[tuple[str, str]]:
        """(definition name, node id) of every container node that uses ``definition`` (a scan: an open
        document answers ``Document.uses_of`` from its index)."""
        return [(d.name, n.id) for d in self.definitions.values() for n in d.nodes.values()
                if n.type in ("Block", "Sequential") and n.text_param("definition") == definition]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT, "version": VERSION, "name": self.name, "description": self.description,
            "seed": self.seed, "root": self.root,
            "definitions": {k: d.to_dict() for k, d in self.definitions.items()},
        }
        if self.code:
            out["code"] = dict(self.code)
        if self.initializers:
            out["initializers"] = copy.deepcopy(self.initializers)
        if self.edits:
            out["edits"] = copy.deepcopy(self.edits)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], trusted: bool = False) -> "Project":
        """Build from an already validated dict (see ``netstudio.serialization``)."""
        return cls(name=data.get("name", "untitled"), description=data.get("description", ""),
                   seed=data.get("seed", 0), root=data["root"],
                   definitions={k: Definition.from_dict(k, v) for k, v in data["definitions"].items()},
                   code=dict(data.get("code", {})), initializers=copy.deepcopy(data.get("initializers", [])),
                   edits=copy.deepcopy(data.get("edits", [])), trusted=trusted)

    def copy(self) -> "Project":
        return Project.from_dict(self.to_dict(), trusted=self.trusted)

