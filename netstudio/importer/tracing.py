"""One level of a module, traced: its own children stay calls, its code becomes a graph.

torch.fx's default tracer inlines every user module into one flat graph; here
every submodule is a leaf, so a module's graph shows exactly what its
``forward`` does with its direct children.  Each child is then converted on its
own, which keeps the hierarchy (a ResNet stays stages of blocks).
"""

from __future__ import annotations

import inspect

from torch import fx, nn

from .errors import Unsupported


class _ChildrenAsLeaves(fx.Tracer):
    def __init__(self, root: nn.Module):
        super().__init__()
        self.root_module = root

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return m is not self.root_module


def trace_one_level(module: nn.Module, form: tuple[int | None, ...] | None = None) -> fx.Graph:
    """The graph of ``module.forward`` called as ``form`` says: one entry per positional argument passed,
    None for a tensor, ``n`` for a list of ``n`` tensors (a DenseNet layer takes the features so far).
    By default every argument is one tensor.

    The list's tensors become inputs of their own, in order.  Arguments left out keep their defaults,
    which are fixed while tracing (``h=None`` takes the ``if h is None`` branch); the guards torch.fx
    adds for them are removed.
    """
    params = [p for p in inspect.signature(module.forward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    form = (None,) * len(params) if form is None else form
    concrete = {p.name: [fx.PH] * size for p, size in zip(params, form) if size is not None}
    for p in params[len(form):]:
        if p.default is p.empty:
            raise Unsupported(f"forward needs its argument {p.name!r}, which the call does not pass")
        concrete[p.name] = p.default
    try:
        graph = _ChildrenAsLeaves(module).trace(module, concrete_args=concrete or None)
    except Unsupported:
        raise
    except Exception as err:
        raise Unsupported(f"torch.fx cannot trace its forward ({_first_line(err)})") from None
    if len(params) > len(form):
        _drop_specialized(graph, sum(1 if size is None else size for size in form))
    return graph


def _drop_specialized(graph: fx.Graph, inputs: int) -> None:
    """Remove the placeholders after the first ``inputs`` (fixed arguments) and the guards that only check them."""
    fixed = set([n for n in graph.nodes if n.op == "placeholder"][inputs:])
    for node in graph.nodes:
        if node.op != "placeholder" and any(a in fixed for a in node.all_input_nodes):
            fixed.add(node)
    for node in fixed:
        if node.op == "output" or any(u not in fixed for u in node.users):
            raise Unsupported("forward uses the value of an argument the call leaves at its default")
    for node in reversed(list(graph.nodes)):
        if node in fixed:
            graph.erase_node(node)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    line = text[0] if text else type(err).__name__
    return line if len(line) <= 160 else line[:157] + "..."
