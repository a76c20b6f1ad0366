"""What a check found: diagnostics, and the shapes inference learned."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalog import TensorSpec
from .diagnostics import Diagnostic
from .shapes import NodeInfo


@dataclass
class CheckResult:
    """Diagnostics, and what shape inference learned, keyed by (instance path, node id).

    The instance path is the tuple of container node ids from the root down to
    the instance of a definition (empty for the root).
    """

    diagnostics: list[Diagnostic] = field(default_factory=list)
    infos: dict[tuple[tuple[str, ...], str], NodeInfo] = field(default_factory=dict)
    network_bytes: int = 0   # parameters and constants of the compiled network

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def info(self, node_id: str, path: tuple[str, ...] = ()) -> NodeInfo | None:
        return self.infos.get((path, node_id))

    def output(self, node_id: str, port: str = "out", path: tuple[str, ...] = ()) -> TensorSpec | None:
        info = self.infos.get((path, node_id))
        return info.outputs.get(port) if info else None

    def for_node(self, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.node_id == node_id]
