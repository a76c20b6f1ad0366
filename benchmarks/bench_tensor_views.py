"""Heatmap reduction and tensor statistics on a 4096x4096 float32 weight.

Baseline, measured in the same run: one ``x.abs().amax()`` pass over the
same tensor (the cheapest full read that looks at magnitudes).
Run: python benchmarks/bench_tensor_views.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from netstudio.tensors.stats import tensor_stats
from netstudio.tensors.view2d import heatmap_view, reduce_max_abs

TARGET_MS = 30.0


def median_ms(fn: Callable[[], object], runs: int = 15) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    torch.manual_seed(0)
    x = torch.randn(4096, 4096)
    x[123, 456] = float("nan")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, tensor 4096x4096 float32")

    baseline = median_ms(lambda: x.abs().amax())
    print(f"baseline x.abs().amax()            {baseline:7.1f} ms")
    rows = [
        ("reduce_max_abs -> 1024x1024", lambda: reduce_max_abs(x, 1024, 1024)),
        ("heatmap_view (incl. numpy copy)", lambda: heatmap_view(x)),
        ("heatmap_view, bfloat16 input", (lambda xb: lambda: heatmap_view(xb))(x.bfloat16())),
        ("heatmap_view, 4096x4100 (ragged)", (lambda xr: lambda: heatmap_view(xr))(torch.randn(4096, 4100))),
        ("tensor_stats (finite)", (lambda xf: lambda: tensor_stats(xf))(torch.randn(4096, 4096))),
        ("tensor_stats (with NaN)", lambda: tensor_stats(x)),
    ]
    for name, fn in rows:
        ms = median_ms(fn, runs=15 if "stats" not in name else 7)
        print(f"{name:34s} {ms:7.1f} ms   {ms / baseline:5.2f}x baseline")
    reduce_ms = median_ms(lambda: reduce_max_abs(x, 1024, 1024))
    verdict = "meets" if reduce_ms <= TARGET_MS else "MISSES"
    print(f"reduction {reduce_ms:.1f} ms {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
