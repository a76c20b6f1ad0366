"""Timing helpers for the benchmarks: medians of interleaved repeats, so a noisy
shared machine affects both sides of a ratio alike."""

from __future__ import annotations

import gc
import statistics
import time
from typing import Callable


def per_call(fn: Callable[[], object], number: int) -> float:
    """Seconds per call; the garbage of earlier samples (a dropped 10,000-block document is a cycle)
    is collected first, so that no sample pays for another's."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def compare(candidate: Callable[[], object], baseline: Callable[[], object], number: int = 200,
            repeats: int = 15) -> tuple[float, float, float]:
    """(candidate seconds, baseline seconds, ratio) as medians of interleaved repeats."""
    for _ in range(3):
        candidate(), baseline()
    c, b = [], []
    for _ in range(repeats):
        c.append(per_call(candidate, number))
        b.append(per_call(baseline, number))
    cm, bm = statistics.median(c), statistics.median(b)
    return cm, bm, cm / bm


def median_time(fn: Callable[[], object], repeats: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def us(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms"
