"""Which nodes a node may share parameters with, so that a tie never fails the checker at once.

A node that uses another node's module (a *tie*) must be able to run that
module on its own input: the same block type, the same hyperparameters except
those the input sizes (``in_features`` of a deferred ``Linear``...), and, as
the checker will see it, the same parameter shapes.  Two deferred Linears fed
20 and 8 features have the same hyperparameters, but not the same weights.

With a ``CheckResult`` the inferred shapes decide, in every instance of the
definition where both nodes were inferred; without one (or where inference has
not reached the nodes yet) the hyperparameters alone decide.

Each call looks at one node against the nodes of its type in its definition,
so a menu asks when it opens; nothing here is meant to run for every node at
once.  What inference learned is read through a ``ShapeIndex`` (node id ->
instance path -> ``NodeInfo``), built in one pass once per check result, so a
question never walks the whole result or project again.
"""

from __future__ import annotations

from ..catalog import get_block
from ..catalog.block_spec import TENSOR_ROLES, BlockSpec, Role
from ..catalog.deferred_sizes import effective_sizes, size_from_input, sized_keys
from ..graph import Definition, Node, Project
from .check import CheckResult
from .shapes import NodeInfo

_NO_MODULE_ROLES = (Role.INPUT, Role.OUTPUT, *TENSOR_ROLES)

Infos = dict[tuple[str, ...], NodeInfo]   # instance path -> what inference learned there


def holds_parameters(node: Node) -> bool:
    """Whether the node has a module that can hold parameters (so it can share them)."""
    spec = get_block(node.type)
    return spec is not None and not spec.stateless and spec.role not in _NO_MODULE_ROLES


def could_share(d: Definition, node_id: str) -> bool:
    """Cheap: the node holds parameters and no other node uses its module (it would stay their owner)."""
    node = d.nodes.get(node_id)
    return node is not None and holds_parameters(node) and not any(n.tied_to == node_id for n in d.nodes.values())


def untied_sharers(d: Definition) -> list[Node]:
    """The nodes of ``d`` that use their own module and could use another's, in one pass."""
    owners = {n.tied_to for n in d.nodes.values() if n.tied_to is not None}
    return [n for n in d.nodes.values() if n.tied_to is None and n.id not in owners and holds_parameters(n)]


class ShapeIndex:
    """What one check result inferred, by node id then instance path: one pass over the result."""

    def __init__(self, result: CheckResult | None):
        self.result = result
        self.by_node: dict[str, Infos] = {}
        for (path, nid), info in (result.infos.items() if result is not None else ()):
            self.by_node.setdefault(nid, {})[path] = info

    def get(self, node_id: str, default: Infos) -> Infos:
        return self.by_node.get(node_id, default)


_last_index = ShapeIndex(None)


def shape_index(result: CheckResult | None) -> ShapeIndex:
    """The index of ``result``, built once however many menus ask about the same result."""
    global _last_index
    if _last_index.result is not result:
        _last_index = ShapeIndex(result)
    return _last_index


def tie_candidates(project: Project, d: Definition, node_id: str,
                   result: CheckResult | None = None) -> list[Node]:
    """The nodes of ``d`` whose module ``node_id`` could use, in the definition's node order."""
    if not could_share(d, node_id):
        return []
    node = d.nodes[node_id]
    others = [o for o in d.nodes.values() if _may_own(node, o)]
    infos = shape_index(result)
    spec = get_block(node.type)
    return [o for o in others if _fits(spec, node, o, infos.get(node_id, {}), infos.get(o.id, {}))]


def can_tie(project: Project, d: Definition, node_id: str, target_id: str,
            result: CheckResult | None = None) -> bool:
    """Whether ``node_id`` could use ``target_id``'s module (one pair, without listing the others)."""
    node, target = d.nodes.get(node_id), d.nodes.get(target_id)
    if node is None or target is None or not could_share(d, node_id) or not _may_own(node, target):
        return False
    infos = shape_index(result)
    return _fits(get_block(node.type), node, target, infos.get(node_id, {}), infos.get(target_id, {}))


# -- the rule ----------------------------------------------------------------------------------------------
def _may_own(node: Node, other: Node) -> bool:
    """``other`` could be the owner of ``node``'s module: another, untied node of the same type."""
    return other.id != node.id and other.type == node.type and other.tied_to is None and other.id != node.tied_to


def _fits(spec: BlockSpec, node: Node, owner: Node, mine: Infos, theirs: Infos) -> bool:
    sized = sized_keys(node.type)
    own, other = spec.resolve(node.params), spec.resolve(owner.params)
    if {k: v for k, v in own.items() if k not in sized} != {k: v for k, v in other.items() if k not in sized}:
        return False
    paths = [p for p in mine if p in theirs]
    if not paths:   # not inferred (yet): the hyperparameters decide, input sizes where both are set
        return all(own.get(k) is None or other.get(k) is None or own[k] == other[k] for k in sized)
    return all(_fits_here(spec, node.type, other, mine[p], theirs[p]) for p in paths)


def _fits_here(spec: BlockSpec, block_type: str, owner_params: dict, mine: NodeInfo, theirs: NodeInfo) -> bool:
    """In one instance: the owner's module, run on this node's input, infers and has the owner's shapes."""
    inputs = list(mine.inputs)
    if spec.param_shapes is not None:
        try:
            if spec.infer is not None:
                spec.infer(owner_params, inputs)
            shapes = spec.param_shapes(owner_params, inputs)
        except Exception:   # the owner's module cannot take this input (a ShapeError, or no input at all)
            return False
        if dict(shapes) != dict(theirs.params):
            return False
    elif dict(mine.params) != dict(theirs.params):
        return False
    owner_sizes = effective_sizes(block_type, owner_params, theirs.inputs)
    for key, size in owner_sizes.items():
        here = size_from_input(block_type, key, inputs)
        if size is not None and here is not None and size != here:
            return False   # a lazy module takes its size from whichever use runs first
    return True
