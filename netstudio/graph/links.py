"""Which edges may be drawn: the rules the canvas asks before it offers a connection.

They are the engine's, not the canvas's, so a script, a paste or a test gets
the same answer as a drag: an input takes one edge, no block feeds itself, and
data flows one way (no cycles).
"""

from __future__ import annotations

from collections import defaultdict

from .definition import Definition
from .ports import input_ports, output_ports
from .project import Project


def reaches(d: Definition, start: str, goal: str, ignore_edge: str | None = None) -> bool:
    """Whether data flows from node ``start`` to node ``goal`` (or they are the same), in time
    linear in the definition; ``ignore_edge`` is left out (an edge being re-routed)."""
    outgoing: dict[str, list[str]] = defaultdict(list)
    for e in d.edges.values():
        if e.id != ignore_edge:
            outgoing[e.src].append(e.dst)
    stack, seen = [start], set()
    while stack:
        n = stack.pop()
        if n == goal:
            return True
        if n in seen:
            continue
        seen.add(n)
        stack.extend(outgoing[n])
    return False


def link_problem(project: Project, definition: str, src: str, src_port: str, dst: str, dst_port: str,
                 ignore_edge: str | None = None) -> str | None:
    """Why an edge from output ``src_port`` of ``src`` to input ``dst_port`` of ``dst`` is refused,
    as one sentence, or None when it may be drawn."""
    d = project.definitions[definition]
    source, target = d.nodes.get(src), d.nodes.get(dst)
    if source is None or target is None:
        return "Both ends of a connection must be blocks of this definition."
    if src_port not in output_ports(project, source) or dst_port not in input_ports(project, target):
        return "Connect an output to an input."
    if src == dst:
        return "A block cannot feed itself."
    for e in d.edges.values():
        if e.id != ignore_edge and e.dst == dst and e.dst_port == dst_port:
            return "This input is connected already; drag its edge away first."
    if reaches(d, dst, src, ignore_edge):
        return "This connection would make a cycle; a network must flow one way."
    return None
