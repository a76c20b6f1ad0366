"""An edge: a tensor flowing from one node's output port to another node's input port.

``bends`` are the canvas points the edge's drawing passes through between its two ports
(model coordinates, source to target), as the layered layout routes a long edge around
the blocks in its way.  They are a way of drawing, not part of the graph: two edges that
differ only in their bends compare equal, so an edit of the bends changes nothing the
checker or the compiler sees (``edge_bends.py`` holds the edits).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

Point = tuple[float, float]


@dataclass(frozen=True)
class Edge:
    id: str
    src: str        # node id
    src_port: str
    dst: str        # node id
    dst_port: str
    bends: tuple[Point, ...] = field(default=(), compare=False)

    def with_bends(self, bends: tuple[Point, ...]) -> "Edge":
        return replace(self, bends=tuple(bends))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "src": [self.src, self.src_port], "dst": [self.dst, self.dst_port]}
        if self.bends:
            out["bends"] = [[x, y] for x, y in self.bends]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Edge":
        (src, src_port), (dst, dst_port) = data["src"], data["dst"]
        bends = tuple((float(x), float(y)) for x, y in data.get("bends") or ())
        return cls(data["id"], src, src_port, dst, dst_port, bends)
