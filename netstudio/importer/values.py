"""What a traced value stands for in the definition being built.

A tensor is a :class:`Port` (a node's output port).  A module or function that
returns a tuple gives a tuple of values (LSTM: ``(output, (h, c))``), which
``getitem`` with a constant index takes apart without any node.  Anything else
is a Python constant from the traced code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Port:
    node: str
    port: str


def nest(ports: dict[tuple[int, ...], Port]) -> Any:
    """The nested tuple whose element at each path is that path's port (``{(): p}`` is just ``p``)."""
    if () in ports:
        return ports[()]
    width = max(path[0] for path in ports) + 1
    return tuple(nest({path[1:]: p for path, p in ports.items() if path[0] == i}) for i in range(width))


def ports_in(value: Any) -> list[Port]:
    """Every Port inside a (nested) value, in order."""
    if isinstance(value, Port):
        return [value]
    if isinstance(value, (tuple, list)):
        return [p for v in value for p in ports_in(v)]
    if isinstance(value, dict):
        return [p for v in value.values() for p in ports_in(v)]
    return []
