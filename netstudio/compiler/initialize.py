"""Replays a project's recorded initialization on a freshly built network.

Order: PyTorch's default (seeded) → each node's own initializer settings →
the project's initializer assignments → the recorded direct edits.  Lazy
parameters get theirs when they materialize, before the first forward
computes anything, so even the first output uses them.
"""

from __future__ import annotations

from torch import nn
from torch.nn.parameter import is_lazy

from ..errors import NetStudioError
from ..graph.module_paths import node_places
from ..graph.project import Project
from ..init.assignments import InitAssignment, apply_assignments, defer_until_materialized
from ..init.scopes import Scope
from ..params.direct_edits import DirectEdit, find_tensor


def recorded_assignments(project: Project) -> list[InitAssignment]:
    """Node-level settings (for every instance of the node), then project-level assignments."""
    out: list[InitAssignment] = []
    for place in node_places(project):
        node = project.definitions[place.definition].nodes[place.node_id]
        if node.tied_to:
            continue
        for leaf, setting in node.init.items():
            name = f"{place.module_path}.{leaf}" if place.module_path else leaf
            out.append(InitAssignment.from_dict({"scope": Scope.parameter(name).to_dict(), **setting}))
    out.extend(InitAssignment.from_dict(a) for a in project.initializers)
    return out


def replay_initialization(project: Project, module: nn.Module, skipped: list[str]) -> None:
    """Apply what the project recorded; each entry that no longer applies (a renamed layer, a
    changed shape) is skipped and said in ``skipped``, now or when its lazy layer materializes:
    one stale entry must not make the network unbuildable."""
    seed = project.seed if project.seed is not None else 0
    try:
        assignments = recorded_assignments(project)
    except NetStudioError as err:
        skipped.append(str(err))
        return
    for index, assignment in enumerate(assignments):
        try:
            apply_assignments(module, [assignment], seed, first_index=index)
            defer_until_materialized(module, [assignment], seed, first_index=index)
        except NetStudioError as err:
            skipped.append(str(err))
    for data in project.edits:
        try:
            edit = DirectEdit.from_dict(data)
            if is_lazy(find_tensor(module, edit.name)):
                _defer_edit(module, edit, skipped)
            else:
                edit.apply(module)
        except NetStudioError as err:
            skipped.append(str(err))


def _defer_edit(module: nn.Module, edit: DirectEdit, skipped: list[str]) -> None:
    owner = module.get_submodule(edit.name.rpartition(".")[0])

    def hook(mod, args) -> None:
        if not is_lazy(find_tensor(module, edit.name)):
            handle.remove()
            try:
                edit.apply(module)
            except NetStudioError as err:
                skipped.append(str(err))

    handle = owner.register_forward_pre_hook(hook)
