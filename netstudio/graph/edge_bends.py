"""Edits of the bend points of edges (``Edge.bends``): set by the layered layout, dropped when
one of an edge's blocks moves (the route no longer fits it).

Bends are a way of drawing: the document changes them through these functions with
``_touched(graph=False)`` and its ``edge_changed`` event, which the checker's snapshots do not
follow, so no edit of a route ever makes the project be checked or built again.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..errors import EditError
from .edge import Edge, Point

if TYPE_CHECKING:
    from .definition import Definition
    from .index import DefinitionIndex

MAX_BENDS = 512     # points of one edge; the layout gives a long edge two per column it crosses


def bends_problem(points: Any) -> str | None:
    """Why ``points`` cannot be an edge's bends (a phrase), or None."""
    if isinstance(points, (str, bytes, Mapping)) or not isinstance(points, Iterable):
        return "the bends must be a list of [x, y] points"
    count = 0
    for point in points:
        count += 1
        if count > MAX_BENDS:
            return f"an edge has at most {MAX_BENDS} bend points"
        if isinstance(point, (str, bytes, Mapping)) or not isinstance(point, (list, tuple)) or len(point) != 2:
            return "each bend point must be two numbers [x, y]"
        for c in point:
            if isinstance(c, bool) or not isinstance(c, (int, float)):
                return "each bend point must be two numbers [x, y]"
            try:
                if not math.isfinite(float(c)):
                    return "each bend point must be two finite numbers"
            except OverflowError:
                return "each bend point must be two finite numbers"
    return None


def normalized(points: Any) -> tuple[Point, ...]:
    """``points`` as an edge's bends, or ``EditError`` with one sentence."""
    if points is None:
        return ()
    if not isinstance(points, (list, tuple)):   # an iterator would be used up by the check
        points = list(points) if isinstance(points, Iterable) and not isinstance(points, (str, bytes, Mapping)) \
            else points
    problem = bends_problem(points)
    if problem:
        raise EditError(problem[:1].upper() + problem[1:] + ".")
    return tuple((float(x), float(y)) for x, y in points)


def replace_bends(d: "Definition", index: "DefinitionIndex", bends: Mapping[str, Any]) -> dict[str, tuple[Point, ...]]:
    """Give the edges of ``d`` named in ``bends`` those bend points (all checked first: a refusal
    changes nothing); returns the old bends of the edges that changed."""
    if not isinstance(bends, Mapping):
        raise EditError("The bends must map edge ids to lists of points.")
    wanted: dict[str, tuple[Point, ...]] = {}
    for edge_id, points in bends.items():
        if edge_id not in d.edges:
            raise EditError(f"There is no edge {edge_id!r} in {d.name!r}.")
        wanted[edge_id] = normalized(points)
    old: dict[str, tuple[Point, ...]] = {}
    for edge_id, points in wanted.items():
        edge = d.edges[edge_id]
        if edge.bends != points:
            old[edge_id] = edge.bends
            _put(d, index, edge.with_bends(points))
    return old


def drop_bends_of(d: "Definition", index: "DefinitionIndex", node_id: str) -> dict[str, tuple[Point, ...]]:
    """Forget the bends of the edges touching ``node_id``; returns what they were."""
    old: dict[str, tuple[Point, ...]] = {}
    for edges in (index.incoming.get(node_id, {}), index.outgoing.get(node_id, {})):
        for edge in list(edges.values()):
            if edge.bends and edge.id not in old:
                old[edge.id] = edge.bends
                _put(d, index, edge.with_bends(()))
    return old


def _put(d: "Definition", index: "DefinitionIndex", edge: Edge) -> None:
    """Swap an edge for its new version in place: the same key, so every order stays."""
    d.edges[edge.id] = edge
    index.outgoing[edge.src][edge.id] = edge
    index.incoming[edge.dst][edge.id] = edge
