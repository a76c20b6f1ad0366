"""Wrapping a long layout into bands, like lines of text, so that fit-all shows
readable blocks: a 200-block chain becomes a dozen rows instead of one hairline.

Only layouts much wider than tall are wrapped.  The number of bands is the
smallest that brings the whole near ``TARGET_ASPECT``; each cut is moved, within
a quarter band, to the gap between columns that the fewest edges cross, since
every such edge has to run back along the lane between the two bands.
"""

from __future__ import annotations

MAX_ASPECT = 4.0          # wider than this (width / height) gets wrapped
TARGET_ASPECT = 2.0
MIN_BAND_LAYERS = 6


def band_starts(extent: list[tuple[float, float]], crossing: list[int], layer_gap: float, block_width: float,
                band_gap) -> list[int]:
    """First layer of each band.

    ``extent`` is each layer's (top, bottom), ``crossing[k]`` the number of edges between layers k and
    k + 1, ``band_gap(m)`` the space two bands need when m edges run between them.
    """
    layers = len(extent)

    def aspect(starts: list[int]) -> float:
        ends = starts[1:] + [layers]
        width = max(end - start - 1 for start, end in zip(starts, ends)) * layer_gap + block_width
        height = sum(max(extent[k][1] for k in range(s, e)) - min(extent[k][0] for k in range(s, e))
                     for s, e in zip(starts, ends))
        height += sum(band_gap(crossing[s - 1]) for s in starts[1:])
        return width / max(height, 1.0)

    if layers < 2 * MIN_BAND_LAYERS or aspect([0]) <= MAX_ASPECT:
        return [0]
    lo, hi = 2, layers // MIN_BAND_LAYERS
    while lo < hi:                       # the fewest bands whose aspect is at most the target
        mid = (lo + hi) // 2
        if aspect(_cuts(mid, layers, crossing)) <= TARGET_ASPECT:
            hi = mid
        else:
            lo = mid + 1
    return _cuts(lo, layers, crossing)


def _cuts(bands: int, layers: int, crossing: list[int]) -> list[int]:
    window = max(layers // (4 * bands), 0)
    starts = [0]
    for b in range(1, bands):
        ideal = round(b * layers / bands)
        options = range(max(ideal - window, starts[-1] + 1), min(ideal + window, layers - 1) + 1)
        if options:
            starts.append(min(options, key=lambda s: (crossing[s - 1], abs(s - ideal), s)))
    return starts
