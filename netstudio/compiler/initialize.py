"""Replays a project's recorded initialization on a freshly built network.

Order: PyTorch's default (seeded) → each node's own initializer settings →
the project's initializer assignments → the recorded direct edits.  Lazy
parameters get theirs when they materialize, before the first forward
computes anything, so even the first output uses them.

Every entry comes from the project file: one that does not parse or no longer
applies is skipped with one sentence, and the others still replay, each at
its place in the list (which seeds its draws).  The work is linear in the
number of entries and the size of the network (see :mod:`netstudio.init.replay`).
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from ..errors import NetStudioError
from ..graph.module_paths import node_places
from ..graph.project import Project
from ..init.assignments import InitAssignment
from ..init.bounds import MAX_RECORDED, check_recorded_lengths
from ..params.net_index import quote
from ..init.replay import replay
from ..init.scopes import Scope
from ..params.direct_edits import DirectEdit


def recorded_entries(project: Project) -> list[InitAssignment | NetStudioError]:
    """Node-level settings (for every instance of the node), then project-level assignments;
    an entry that does not parse is its error, so every entry keeps its index."""
    check_recorded_lengths(project.initializers, project.edits)
    out: list[InitAssignment | NetStudioError] = []
    for place in node_places(project):
        node = project.definitions[place.definition].nodes[place.node_id]
        if node.tied_to:
            continue
        for leaf, setting in node.init.items():
            name = f"{place.module_path}.{leaf}" if place.module_path else str(leaf)
            out.append(_parse(lambda: _node_setting(name, setting)))
            if len(out) > MAX_RECORDED:
                raise NetStudioError(f"The network's nodes record more than {MAX_RECORDED:,} initializer settings.")
    out.extend(_parse(lambda data=data: InitAssignment.from_dict(data)) for data in project.initializers)
    return out


def recorded_assignments(project: Project) -> list[InitAssignment]:
    """As :func:`recorded_entries`, raising the first entry's error if one does not parse."""
    entries = recorded_entries(project)
    for entry in entries:
        if isinstance(entry, NetStudioError):
            raise entry
    return entries  # type: ignore[return-value]


def replay_initialization(project: Project, module: nn.Module, skipped: list[str]) -> None:
    """Apply what the project recorded; each entry that no longer applies (a renamed layer, a
    changed shape) is skipped and said in ``skipped``, now or when its lazy layer materializes:
    one stale entry must not make the network unbuildable."""
    seed = project.seed if project.seed is not None else 0
    try:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise NetStudioError(f"The initialization seed must be a whole number, not {seed!r}.")
        assignments = recorded_entries(project)
    except NetStudioError as err:
        skipped.append(str(err))
        return
    edits = [_parse(lambda data=data: DirectEdit.from_dict(data)) for data in project.edits]
    replay(module, assignments, edits, seed, skipped)


def _node_setting(name: str, setting: object) -> InitAssignment:
    if not isinstance(setting, Mapping):
        raise NetStudioError(f"The initializer setting of {quote(name)} must be a set of named fields.")
    return InitAssignment.from_dict({"scope": Scope.parameter(name).to_dict(), **setting})


def _parse(read):
    try:
        return read()
    except NetStudioError as err:
        return err
