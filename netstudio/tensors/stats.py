"""Summary statistics of a tensor, for the parameter inspector and ``netstudio inspect``.

``min``, ``max``, ``mean``, ``std`` and the histogram describe the *finite*
values only; NaN and infinities are counted separately (``nans``, ``infs``),
so a single NaN does not blank out everything else.  When a tensor has no
finite value (empty, or all NaN/Inf) those fields are ``None`` and the
histogram is empty.  ``std`` is the population standard deviation (divides
by n).  Complex tensors are described by their magnitude, quantized ones by
their dequantized values.

Every tensor is read by what it stores, in pieces of ``_CHUNK`` elements
converted to float64 (so float32 values near 3e38 neither overflow a sum nor a
square), never as a whole copy:

* an expanded view (stride 0, ``expand``) is read once per stored value and
  its counts (zeros, NaN, Inf, histogram) are scaled by the repetition;
* a view that overlaps itself (``as_strided`` windows) over more than
  ``EXACT_LIMIT`` elements is described by the storage values it spans, and
  ``exact`` is False (counts are then of those stored values);
* a sparse tensor by its stored values plus its implicit zeros;
* meta tensors and raw-bit dtypes have no values: a one-sentence
  :class:`NetStudioError`.

``stored`` says how many values were read when that is fewer than ``numel``.
Everything is computed on the tensor's device; only scalars and the histogram
counts are copied back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

import torch

from netstudio.errors import NetStudioError
from netstudio.tensors.layout import (collapse_repeats, detached, nested_parts, real_values, require_values, span,
                                     sparse_parts, stored_count)

# Elements read and converted at a time; the histogram splits its input this finely too.
_CHUNK = 1 << 22
_HIST_CHUNK = 2**24
#: Elements an overlapping view may have before it is described by the storage it spans.
EXACT_LIMIT = 1 << 26
# Beyond this magnitude squares overflow float64, so values are scaled by a power of two.
_SCALE_ABOVE = 2.0**500
# Pieces up to this size are summed in float64 even when float32 would do: it costs nothing there.
_SMALL = 1 << 20
# Largest magnitudes whose float32 squares neither overflow nor vanish.
_NARROW_SAFE = (2.0**-40, 2.0**60)
# dtypes whose values float32 cannot all hold exactly.
_WIDE_DTYPES = {torch.float64, torch.int32, torch.int64, torch.uint32, torch.uint64}


@dataclass(frozen=True)
class TensorStats:
    """What the inspector shows about one tensor; see the module docstring for ``None``."""

    dtype: str
    numel: int
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    zeros: int  # elements exactly equal to zero
    nans: int
    infs: int  # +inf and -inf
    hist_counts: tuple[int, ...]  # len == bins, or () without finite values
    hist_edges: tuple[float, ...]  # len == bins + 1; the last bin includes its right edge
    stored: int | None = None  # values read, when fewer than numel (expanded views, sparse tensors)
    exact: bool = True  # False: an overlapping view, described by the stored values it spans

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples become lists; ``None`` becomes ``null``)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


@dataclass(frozen=True)
class _Source:
    """What to read: ``size`` stored values in pieces, each value standing for ``weight``
    elements, plus zeros that are not stored (sparse)."""

    pieces: Callable[[], Iterable[torch.Tensor]]  # 1-D float32 or float64
    size: int
    weight: int = 1
    implicit_zeros: int = 0
    stored: int | None = None
    exact: bool = True


def tensor_stats(tensor: torch.Tensor, bins: int = 64) -> TensorStats:
    """Describe ``tensor``; see the module docstring for what each field covers."""
    if bins < 1:
        raise NetStudioError(f"A histogram needs at least one bin, not {bins}.")
    t = detached(tensor)
    require_values(t)
    dtype = str(t.dtype).removeprefix("torch.")
    n = t.numel()
    if n == 0:
        return TensorStats(dtype, 0, None, None, None, None, 0, 0, 0, (), ())
    src = _source(t)
    pieces = list(src.pieces()) if src.size <= _CHUNK else None  # one piece: convert it once
    read = (lambda: pieces) if pieces is not None else src.pieces
    count, zeros, nans, infs, lo, hi, dirty = _first_pass(read())
    w = src.weight
    zeros, nans, infs = zeros * w + src.implicit_zeros, nans * w, infs * w
    if count == 0 and src.implicit_zeros == 0:
        return TensorStats(dtype, n, None, None, None, None, zeros, nans, infs, (), (), src.stored, src.exact)
    if src.implicit_zeros:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    mean, std, counts, edges = _second_pass(read(), src, bins, lo, hi, dirty)
    return TensorStats(dtype, n, lo, hi, mean, std, zeros, nans, infs, counts, edges, src.stored, src.exact)


# ---------------------------------------------------------------- what to read


def _source(t: torch.Tensor) -> _Source:
    if t.is_nested:
        parts = nested_parts(t)
        return _Source(lambda: (p for part in parts for p in _pieces(part)), t.numel())
    if t.layout != torch.strided:
        values = sparse_parts(t.coalesce() if t.layout == torch.sparse_coo else t)[0]
        return _Source(lambda: _pieces(values), values.numel(), implicit_zeros=t.numel() - values.numel(),
                       stored=values.numel())
    collapsed, repeat = collapse_repeats(t)
    reach = span(collapsed)
    if collapsed.numel() > reach and collapsed.numel() > EXACT_LIMIT:
        region = _spanned(collapsed, reach)
        return _Source(lambda: _pieces(region), region.numel(), stored=region.numel(), exact=False)
    return _Source(lambda: _pieces(collapsed), collapsed.numel(), weight=repeat, stored=stored_count(t))


def _spanned(x: torch.Tensor, reach: int) -> torch.Tensor:
    """The storage elements an overlapping view can reach: from its first, every gcd(strides)."""
    step = math.gcd(*(s for n, s in zip(x.shape, x.stride()) if n > 1)) or 1
    try:
        return x.as_strided(((reach - 1) // step + 1,), (step,), x.storage_offset())
    except RuntimeError:
        raise NetStudioError("This overlapping view is too large to describe.") from None


def _pieces(x: torch.Tensor) -> Iterator[torch.Tensor]:
    """``x`` as 1-D float pieces of at most ``_CHUNK`` elements; only a piece is ever copied."""
    if x.ndim == 0 or x.numel() <= _CHUNK:
        yield _floating(x).reshape(-1)
    elif x.ndim == 1:
        for start in range(0, x.shape[0], _CHUNK):
            yield _floating(x[start:start + _CHUNK])
    elif (row := math.prod(x.shape[1:])) <= _CHUNK:
        step = _CHUNK // row
        for start in range(0, x.shape[0], step):
            yield _floating(x[start:start + step]).reshape(-1)
    else:
        for i in range(x.shape[0]):
            yield from _pieces(x[i])


def _floating(x: torch.Tensor) -> torch.Tensor:
    """float64 for dtypes float32 cannot hold exactly, float32 (no copy if already) for the rest."""
    x = real_values(x)
    return x.to(torch.float64 if x.dtype in _WIDE_DTYPES else torch.float32)


# ---------------------------------------------------------------- the two passes


def _first_pass(pieces: Iterable[torch.Tensor]) -> tuple[int, int, int, int, float, float, set[int]]:
    """(finite count, zeros, NaN, Inf, min, max, pieces with NaN or Inf) of the stored values, unweighted."""
    count = zeros = nans = infs = 0
    lo, hi = math.inf, -math.inf
    dirty: set[int] = set()
    for index, x in enumerate(pieces):
        n = x.numel()
        if n == 0:   # a nested tensor's empty part
            continue
        zeros += n - int(torch.count_nonzero(x))
        a, b = (float(v) for v in torch.aminmax(x))  # NaN or an infinity here means some are not finite
        if not (math.isfinite(a) and math.isfinite(b)):
            dirty.add(index)
            mask = x.abs() < torch.inf  # False for NaN too, and faster than isfinite on CPU
            x, piece_nans = x[mask], int(torch.count_nonzero(torch.isnan(x)))
            nans, infs = nans + piece_nans, infs + n - x.numel() - piece_nans
            if x.numel() == 0:
                continue
            a, b = (float(v) for v in torch.aminmax(x))
        count += x.numel()
        lo, hi = min(lo, a), max(hi, b)
    return count, zeros, nans, infs, lo, hi, dirty


def _second_pass(pieces: Iterable[torch.Tensor], src: _Source, bins: int, lo: float, hi: float, dirty: set[int]):
    """(mean, std, histogram counts, edges) of the finite values (``dirty`` pieces hold others).
    Large float32 pieces are used as they are while their squares cannot overflow or vanish (torch
    accumulates them in double); else float64, scaled by a power of two (exact) when huge."""
    top = max(abs(lo), abs(hi))
    scale = math.ldexp(1.0, math.frexp(top)[1] - 1) if top > _SCALE_ABOVE else 1.0  # top / scale < 2
    wide = top != 0 and not _NARROW_SAFE[0] <= top <= _NARROW_SAFE[1]
    lo_s, hi_s = lo / scale, hi / scale
    if lo_s == hi_s:
        half = max(0.5, abs(lo_s) / 2)
        lo_s, hi_s = lo_s - half, hi_s + half
    total, mean, m2 = 0, 0.0, 0.0  # Chan et al.: combine (count, mean, M2) piece by piece
    counts = torch.zeros(bins, dtype=torch.int64)
    for index, x in enumerate(pieces):
        if index in dirty:
            x = x[x.abs() < torch.inf]
        if x.numel() == 0:
            continue
        if wide or x.numel() <= _SMALL:
            x = x.double() / scale
        var, piece_mean = (float(v) for v in torch.var_mean(x, correction=0))
        total, mean, m2 = _combine(total, mean, m2, x.numel(), piece_mean, var * x.numel())
        for part in x.split(_HIST_CHUNK):
            counts += torch.histc(part, bins, lo_s, hi_s).long().cpu()
    counts *= src.weight
    if src.implicit_zeros:
        total, mean, m2 = _combine(total, mean, m2, src.implicit_zeros, 0.0, 0.0)
        zero = torch.zeros(1, dtype=torch.float64)
        counts += torch.histc(zero, bins, lo_s, hi_s).long() * src.implicit_zeros
    edges = tuple(scale * (lo_s + (hi_s - lo_s) * i / bins) for i in range(bins)) + (scale * hi_s,)
    return mean * scale, math.sqrt(max(m2, 0.0) / total) * scale, tuple(counts.tolist()), edges


def _combine(n_a: int, mean_a: float, m2_a: float, n_b: int, mean_b: float, m2_b: float):
    """Chan et al.'s pairwise update; the mean as a weighted sum, which keeps a tiny mean over
    huge counts (a sparse tensor's few values among 2**60 zeros) from rounding to zero."""
    n = n_a + n_b
    delta = mean_b - mean_a
    return n, (n_a * mean_a + n_b * mean_b) / n, m2_a + m2_b + delta * delta * n_a * n_b / n
