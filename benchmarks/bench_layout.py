"""Layered layout benchmark (issue 11): the time to lay out 1k and 10k nodes.

Two shapes: a plain chain (every block one layer, wrapped into bands) and a
residual-like network (skips of up to five blocks, so dummies and crossings).
Each time is also given against ``topology()`` of the same graph, a linear pass
measured in the same run, so the ratios hold on any machine.  Target: the
10k/1k ratio near 10 (linear), and a 10k-node layout within about a second,
which the canvas should still run off the GUI thread.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_time, ms  # noqa: E402

from netstudio.graph.definition import Definition  # noqa: E402
from netstudio.graph.edge import Edge  # noqa: E402
from netstudio.graph.layout import layered_layout  # noqa: E402
from netstudio.graph.node import Node  # noqa: E402
from netstudio.graph.topology import topology  # noqa: E402


def network(n: int, skips: bool) -> Definition:
    r = random.Random(n)
    d = Definition("main")
    ids = ["x"] + [f"n{k}" for k in range(n - 2)] + ["y"]
    for k, node_id in enumerate(ids):
        d.nodes[node_id] = Node(node_id, "Input" if k == 0 else "Output" if k == len(ids) - 1 else "Add", node_id)
    pairs = [(ids[k - 1], ids[k]) for k in range(1, len(ids))]
    if skips:
        pairs += [(ids[a], ids[r.randrange(a + 2, min(len(ids), a + 6))]) for a in range(0, len(ids) - 6, 3)]
    for k, (src, dst) in enumerate(pairs):
        d.edges[f"e{k}"] = Edge(f"e{k}", src, "out", dst, f"in{k % 2}")
    return d


def main() -> None:
    print("Layered layout (median of repeats; ratio to topology() of the same graph)")
    for skips in (False, True):
        shape = "residual" if skips else "chain"
        times = {}
        for n in (1_000, 10_000):
            d = network(n, skips)
            times[n] = median_time(lambda: layered_layout(d), repeats=3)
            base = median_time(lambda: topology(d), repeats=3)
            print(f"  {shape:8s} {n:6d} nodes {len(d.edges):6d} edges: {ms(times[n])}  "
                  f"({times[n] / base:6.1f} x topology)")
        print(f"  {shape:8s} 10k / 1k: {times[10_000] / times[1_000]:5.1f}  (10 is linear)")
    # The canvas lays out a definition of more blocks than this on a worker thread (ui/canvas/layout_job.py),
    # so what the GUI thread may spend on a layout at most is the time at this size.
    limit = 500
    d = network(limit, True)
    print(f"  on the GUI thread at most: residual {limit} nodes: {ms(median_time(lambda: layered_layout(d), repeats=3))}")


if __name__ == "__main__":
    main()
