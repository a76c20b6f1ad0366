"""Modules run one after another, each on the previous one's result: a Sequential, whatever its class.

Traced one level deep, a loop over a container (``for blk in self.blks: x =
blk(x)``) calls ``blks.0``, ``blks.1``...: modules inside a child, which no node
can be named after (a name holds no '.').  When the loop calls every item once,
in order, each on the previous one's result and on nothing else, it runs the
container as a Sequential would: the container becomes one Sequential node, and
its items keep their names (``blks.0.weight``).  A ModuleList, a ModuleDict or a
Sequential iterated so all qualify.  Likewise a module whose forward does
nothing but run its own children so is a Sequential, whose children may keep
names a graph block's could not (``add_module("conv-1", ...)``).
"""

from __future__ import annotations

from torch import fx, nn


def join_item_chains(module: nn.Module, graph: fx.Graph) -> set[str]:
    """Replace each such loop of ``graph`` by one call of its container; returns the containers joined."""
    items: dict[str, list[fx.Node]] = {}
    direct: set[str] = set()
    for n in graph.nodes:
        if n.op == "call_module":
            owner, dot, _ = n.target.partition(".")
            if dot:
                items.setdefault(owner, []).append(n)
            else:
                direct.add(owner)
    joined = set()
    for name, calls in items.items():
        container = module._modules.get(name)
        if name in direct or container is None or \
                not _runs_in_order(calls, [f"{name}.{item}" for item in container._modules]):
            continue
        with graph.inserting_before(calls[0]):
            whole = graph.call_module(name, tuple(calls[0].args))
        calls[-1].replace_all_uses_with(whole)
        for call in reversed(calls):
            graph.erase_node(call)
        joined.add(name)
    return joined


def only_runs_its_children(module: nn.Module, graph: fx.Graph) -> bool:
    """Whether ``graph`` (``module``'s forward) only runs all of its children in order on its one input,
    and the module holds no tensors of its own."""
    nodes = list(graph.nodes)
    calls = nodes[1:-1]
    own = next(module.parameters(recurse=False), None) is not None or next(module.buffers(recurse=False), None) is not None
    return not own and len(nodes) > 2 and nodes[0].op == "placeholder" and calls[0].args[:1] == (nodes[0],) \
        and nodes[-1].args == (calls[-1],) and _runs_in_order(calls, list(module._modules))


def _runs_in_order(calls: list[fx.Node], targets: list[str]) -> bool:
    """Whether ``calls`` call the modules ``targets`` once each, in order, each on the previous result only."""
    if any(c.op != "call_module" for c in calls) or [c.target for c in calls] != targets:
        return False
    if any(c.kwargs or len(c.args) != 1 or not isinstance(c.args[0], fx.Node) for c in calls):
        return False
    return all(b.args[0] is a and list(a.users) == [b] for a, b in zip(calls, calls[1:]))
