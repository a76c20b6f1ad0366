"""Engine benchmarks (issue: the engine).

1. Compiled forward vs the same model written by hand, as a ratio in one run:
   the seed MLP (batch 2) as a Sequential and as a graph block (generated fx
   code), and a 100-block MLP.  Target: at most 1.05.
2. Time to check and infer shapes on a 1,000-block graph.  Target: at most 100 ms.
3. Big graphs (issue 11): building a chain through the document API and checking it, 1,000 vs
   10,000 blocks in one run.  Target: both grow at most 12x (linear).  Then one edit on 10,000
   blocks: the snapshot the app's checking thread gets and the incremental check, against the
   whole-project copy and full check they replace.
4. One edit's document event on 10,000 blocks with a built network: rebuilding it at once (as below
   ``SYNC_REBUILD_LIMIT``) against only going stale (the app rebuilds once the edits pause), and that
   deferred rebuild's own time.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import compare, median_time, ms, us  # noqa: E402

from netstudio.analysis import check  # noqa: E402
from netstudio.analysis.incremental import Checker  # noqa: E402
from netstudio import session as session_module  # noqa: E402
from netstudio.compiler import compile_project  # noqa: E402
from netstudio.graph import Document, Project  # noqa: E402
from netstudio.graph.snapshots import Snapshots  # noqa: E402
from netstudio.serialization import load_project  # noqa: E402
from netstudio.session import NetworkSession  # noqa: E402

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


def scale() -> None:
    """Issue 11: 10,000 blocks stay interactive (section 3 of the module docstring)."""
    print("Big graphs: build through the document API, then check (target: 10k / 1k <= 12)")
    projects = {n: chain_project(n, "graph") for n in (1000, 10_000)}
    big, small, build = compare(lambda: chain_project(10_000, "graph"), lambda: chain_project(1000, "graph"),
                                number=1, repeats=5)
    print(f"  build:  1,000 blocks {ms(small)}   10,000 blocks {ms(big)}   ratio {build:.1f}")
    big, small, checking = compare(lambda: check(projects[10_000]), lambda: check(projects[1000]),
                                   number=1, repeats=7)
    print(f"  check:  1,000 blocks {ms(small)}   10,000 blocks {ms(big)}   ratio {checking:.1f}")
    doc = Document(chain_project(10_000, "graph"))
    snapshots, checker = Snapshots(doc), Checker()
    checker.check(snapshots.take())
    d = doc.definition("main")
    middle = [n.id for n in d.nodes.values() if n.type == "Linear"][2500]
    edits = {"a Linear's bias, in the middle (shapes unchanged)": (middle, "bias", [True, False]),
             "the Input's batch size (every shape changes)": (d.inputs[0].id, "shape", [[2, 64], [3, 64]])}
    full = median_time(lambda: check(doc.project), repeats=3)
    copy = median_time(doc.project.copy, repeats=3)
    print(f"  one edit on 10,000 blocks (full check {ms(full)}; whole-project copy {ms(copy)}):")
    for label, (node_id, key, values) in edits.items():
        turns = itertools.cycle(values)

        def edit_and_check():
            doc.set_param("main", node_id, key, next(turns))
            return checker.check(snapshots.take())
        t = median_time(edit_and_check)
        print(f"    {label:<52} edit + snapshot + incremental check {ms(t)}   ratio to full {t / full:.3f}")
    moves = iter(range(1_000_000))
    take = median_time(lambda: (doc.move("main", middle, (float(next(moves)), 0.0)), snapshots.take()))
    print(f"  a move and the snapshot after it {ms(take)}   ratio to the whole-project copy {take / copy:.4f}")


def deferred_rebuild() -> None:
    """Issue 11: an edit no longer rebuilds a big network inside its document event (section 4)."""
    doc = Document(chain_project(10_000, "graph"))
    session = NetworkSession(doc)
    session.ensure_built()
    middle = [n.id for n in doc.definition("main").nodes.values() if n.type == "Linear"][2500]
    turns = itertools.cycle([False, True])

    def edit() -> None:
        doc.set_param("main", middle, "bias", next(turns))

    limit, session_module.SYNC_REBUILD_LIMIT = session_module.SYNC_REBUILD_LIMIT, 10**9
    at_once = median_time(edit, repeats=3)
    session_module.SYNC_REBUILD_LIMIT = limit
    deferred = median_time(edit)

    def rebuild_after_an_edit() -> float:
        edit()
        start = time.perf_counter()
        session.catch_up()
        return time.perf_counter() - start
    rebuild = statistics.median(rebuild_after_an_edit() for _ in range(3))
    print("One edit on 10,000 blocks with a built network (a Linear's bias):")
    print(f"  the edit's document event: rebuilding at once {ms(at_once)}   deferred {us(deferred)}   "
          f"({at_once / deferred:,.0f} times less)")
    print(f"  the deferred rebuild, once the edits pause {ms(rebuild)}")


if __name__ == "__main__":
    forward_ratios()
    check_time()
    scale()
    deferred_rebuild()
