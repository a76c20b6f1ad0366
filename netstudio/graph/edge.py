"""An edge: a tensor flowing from one node's output port to another node's input port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Edge:
    id: str
    src: str        # node id
    src_port: str
    dst: str        # node id
    dst_port: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "src": [self.src, self.src_port], "dst": [self.dst, self.dst_port]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Edge":
        (src, src_port), (dst, dst_port) = data["src"], data["dst"]
        return cls(data["id"], src, src_port, dst, dst_port)
