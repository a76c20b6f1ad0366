"""Smoothing a noisy loss curve for reading, as TensorBoard's slider does.

An exponential moving average with weight ``w`` (0 is no smoothing), debiased
so the first points are not pulled towards zero: value ``i`` is
``Σ w^(i-k)(1-w) x_k / (1 - w^(i+1))``.  Non-finite values are skipped (the
average carries on), so one NaN step does not erase the rest of the curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def smoothed(values: Sequence[float], weight: float = 0.6) -> list[float]:
    if not 0.0 <= weight < 1.0:
        raise ValueError("the smoothing weight must be at least 0 and less than 1")
    out: list[float] = []
    average, count = 0.0, 0
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        average = weight * average + (1.0 - weight) * value
        count += 1
        out.append(average / (1.0 - weight ** count))
    return out
