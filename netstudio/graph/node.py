"""A node of a graph: one block, with its name, hyperparameters and canvas position."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    """One block placed in a definition.

    ``name`` becomes the attribute and ``state_dict`` name of its module.  In a
    Sequential definition it may be empty, meaning "my position in the chain"
    ("0", "1", ...), exactly like ``nn.Sequential``.  ``tied_to`` names another
    node of the same definition whose module this node uses (shared parameters).
    ``init`` maps a parameter's leaf name (``weight``) to an initializer setting.
    """

    id: str
    type: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)
    init: dict[str, Any] = field(default_factory=dict)
    tied_to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "name": self.name,
                               "params": copy.deepcopy(self.params),
                               "position": [float(self.position[0]), float(self.position[1])]}
        if self.init:
            out["init"] = copy.deepcopy(self.init)
        if self.tied_to is not None:
            out["tied_to"] = self.tied_to
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Node":
        x, y = data.get("position", (0.0, 0.0))
        return cls(id=data["id"], type=data["type"], name=data.get("name", ""),
                   params=copy.deepcopy(data.get("params", {})), position=(float(x), float(y)),
                   init=copy.deepcopy(data.get("init", {})), tied_to=data.get("tied_to"))

    def text_param(self, key: str) -> str | None:
        """A hyperparameter that names something (a definition, a class, a dtype), or None when the
        value is missing or not text: a file may hold a list there, which no lookup may choke on."""
        value = self.params.get(key)
        return value if isinstance(value, str) else None

    def copy(self) -> "Node":
        return Node.from_dict(self.to_dict())
