"""Engine benchmarks (issue: the engine).

1. Compiled forward vs the same model written by hand, as a ratio in one run:
   the seed MLP (batch 2) as a Sequential and as a graph block (generated fx
   code), and a 100-block MLP.  Target: at most 1.05.
2. Time to check and infer shapes on a 1,000-block graph.  Target: at most 100 ms.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import compare, median_time, ms, us  # noqa: E402

from netstudio.analysis import check  # noqa: E402
from netstudio.compiler import compile_project  # noqa: E402
from netstudio.graph import Document, Project  # noqa: E402
from netstudio.serialization import load_project  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


class HandMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, X):
        return self.out(F.relu(self.hidden(X)))


def chain_project(n_blocks: int, kind: str, width: int = 64, argument: bool = False) -> Project:
    """Linear/ReLU x n; ``argument``: every Linear's sizes are the root's argument ``width``."""
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind=kind, class_name="Net")
    d = doc.definition("main")
    doc.set_param("main", d.inputs[0].id, "shape", [2, width])
    size = width
    if argument:
        doc.set_argument("main", "width", width)
        size = {"arg": "width"}
    for e in list(d.edges):
        doc.disconnect("main", e)
    prev = d.inputs[0].id
    for i in range(n_blocks):
        node = doc.add_node("main", "Linear" if i % 2 == 0 else "ReLU", None,
                            {"in_features": size, "out_features": size} if i % 2 == 0 else {})
        doc.connect("main", prev, "out", node.id, "in")
        prev = node.id
    doc.connect("main", prev, "out", d.outputs[0].id, "in")
    return doc.project


def hand_chain(n_blocks: int, width: int = 64) -> nn.Module:
    return nn.Sequential(*[nn.Linear(width, width) if i % 2 == 0 else nn.ReLU() for i in range(n_blocks)])


def forward_ratios() -> None:
    torch.set_grad_enabled(False)
    x = torch.rand(2, 20)
    print("Compiled forward / hand-written forward (median of interleaved repeats; target <= 1.05)")
    seq = compile_project(load_project(EXAMPLES / "mlp.netstudio"))
    hand_seq = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    c, b, r = compare(lambda: seq(x), lambda: hand_seq(x), number=2000)
    print(f"  seed MLP, Sequential, batch 2   compiled {us(c)}   hand {us(b)}   ratio {r:.3f}")
    block = compile_project(load_project(EXAMPLES / "mlp_block.netstudio"))
    block(x)
    hand = HandMLP()
    c, b, r = compare(lambda: block(x), lambda: hand(x), number=2000)
    print(f"  seed MLP, graph block, batch 2  compiled {us(c)}   hand {us(b)}   ratio {r:.3f}")
    x64 = torch.rand(2, 64)
    for kind in ("sequential", "graph"):
        net = compile_project(chain_project(100, kind))
        hand100 = hand_chain(100)
        c, b, r = compare(lambda: net(x64), lambda: hand100(x64), number=200)
        print(f"  100-block MLP, {kind:<10}       compiled {us(c)}   hand {us(b)}   ratio {r:.3f}")


def check_time() -> None:
    print("Check + shape inference (target <= 100 ms on 1,000 blocks)")
    for n in (100, 1000):
        project = chain_project(n, "graph")
        t = median_time(lambda: check(project))
        print(f"  {n:5d} blocks: {ms(t)}")
    project = chain_project(1000, "sequential")
    print(f"  1000 blocks in a Sequential: {ms(median_time(lambda: check(project)))}")
    plain, referring = chain_project(10_000, "graph"), chain_project(10_000, "graph", argument=True)
    t_plain, t_args = median_time(lambda: check(plain)), median_time(lambda: check(referring))
    print(f"  10000 blocks: {ms(t_plain)}; with every size an argument: {ms(t_args)}   "
          f"ratio {t_args / t_plain:.2f} (target <= 1.3)")


if __name__ == "__main__":
    forward_ratios()
    check_time()
