"""Children a forward calls only in training (GoogLeNet's auxiliary heads), kept as calls whose result is unused.

Traced in eval mode, such a forward never calls them, yet they hold weights the
state_dict names.  Traced again in training mode, the forward shows what they
are called on; where that is a value the eval graph computes as well, the call
is added to the eval graph with nothing using its result.  The outputs are the
same; the project computes those heads in eval mode too, and drops them.
"""

from __future__ import annotations

from torch import fx, nn

from .errors import Unsupported
from .tracing import trace_one_level


def holds_tensors(module: nn.Module | None) -> bool:
    return module is not None and (any(True for _ in module.parameters()) or any(True for _ in module.buffers()))


def add_training_calls(module: nn.Module, graph: fx.Graph, form: tuple[int | None, ...]) -> list[str]:
    """Add to ``graph`` (``module`` traced in eval mode) the calls of children holding tensors that only
    the training-mode forward makes, on the same values; returns the children now called."""
    called = {n.target for n in graph.nodes if n.op == "call_module"}
    missing = {name for name, child in module._modules.items() if name not in called and holds_tensors(child)}
    if not missing:
        return []
    was, module.training = module.training, True   # its own flag only: tracing does not run its children
    try:
        trained = trace_one_level(module, form)
    except Unsupported:
        return []
    finally:
        module.training = was
    same = _same_values(graph, trained)
    output = next(n for n in graph.nodes if n.op == "output")
    added: list[str] = []
    for n in trained.nodes:
        if n.op == "call_module" and n.target in missing and all(a in same for a in n.all_input_nodes):
            with graph.inserting_before(output):
                same[n] = graph.call_module(n.target, fx.map_arg(n.args, same.get), fx.map_arg(n.kwargs, same.get))
            if n.target not in added:
                added.append(n.target)
    return added


def _same_values(graph: fx.Graph, other: fx.Graph) -> dict[fx.Node, fx.Node]:
    """Nodes of ``other`` that compute what a node of ``graph`` computes: the same call on the same values."""
    numbers: dict[str, int] = {}

    def number(n: fx.Node, ids: dict[fx.Node, int]) -> int:
        key = repr((n.op, n.target, fx.map_arg((n.args, n.kwargs), lambda a: ("value", ids[a]))))
        return numbers.setdefault(key, len(numbers))

    mine: dict[fx.Node, int] = {}
    for n in graph.nodes:
        mine[n] = number(n, mine)
    first = {}
    for n, i in mine.items():
        first.setdefault(i, n)
    theirs: dict[fx.Node, int] = {}
    for n in other.nodes:
        theirs[n] = number(n, theirs)
    return {n: first[i] for n, i in theirs.items() if i in first and n.op != "output"}
