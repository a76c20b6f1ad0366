"""Summary statistics of a tensor, for the parameter inspector.

``min``, ``max``, ``mean``, ``std`` and the histogram describe the *finite*
values only; NaN and infinities are counted separately (``nans``, ``infs``),
so a single NaN does not blank out everything else.  When a tensor has no
finite value (empty, or all NaN/Inf) those fields are ``None`` and the
histogram is empty.  ``std`` is the population standard deviation (divides
by n).  Complex tensors are described by their magnitude.

Everything is computed on the tensor's device; only a handful of scalars and
the histogram counts are copied back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from netstudio.errors import NetStudioError

# torch.histc counts in the input's dtype: float32 counts are exact up to 2**24.
_HIST_CHUNK = 2**24
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

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples become lists; ``None`` becomes ``null``)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


def tensor_stats(tensor: torch.Tensor, bins: int = 64) -> TensorStats:
    """Describe ``tensor``; see the module docstring for what each field covers."""
    if bins < 1:
        raise NetStudioError(f"A histogram needs at least one bin, not {bins}.")
    dtype = str(tensor.dtype).removeprefix("torch.")
    x = tensor.detach().reshape(-1)
    if x.is_complex():
        x = x.abs()
    x = x.to(torch.float64 if x.dtype in _WIDE_DTYPES else torch.float32)
    n = x.numel()
    if n == 0:
        return TensorStats(dtype, 0, None, None, None, None, 0, 0, 0, (), ())
    zeros = n - torch.count_nonzero(x)
    if torch.isfinite(x.sum()):  # the common case: one cheap pass proves there is no NaN/Inf
        finite, nans, infs = x, torch.zeros_like(zeros), torch.zeros_like(zeros)
    else:  # |x| < inf is false for NaN too, and much faster than isfinite on CPU
        mask = x.abs() < torch.inf
        finite, nans = x[mask], torch.count_nonzero(torch.isnan(x))
        infs = n - torch.count_nonzero(mask) - nans
    if finite.numel() == 0:
        zeros, nans, infs = torch.stack([zeros, nans, infs]).tolist()
        return TensorStats(dtype, n, None, None, None, None, zeros, nans, infs, (), ())
    lo, hi = torch.aminmax(finite)
    mean = finite.mean()
    centred = finite - mean  # two passes: E[x^2] - mean^2 cancels badly in float32
    std = torch.sqrt(torch.dot(centred, centred) / finite.numel())
    scalars = torch.stack([v.double() for v in (lo, hi, mean, std, zeros, nans, infs)]).tolist()
    lo, hi, mean, std = scalars[:4]
    zeros, nans, infs = (int(v) for v in scalars[4:])
    counts, edges = _histogram(finite, bins, lo, hi)
    return TensorStats(dtype, n, lo, hi, mean, std, zeros, nans, infs, counts, edges)


def _histogram(finite: torch.Tensor, bins: int, lo: float, hi: float) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Exact equal-width histogram over [lo, hi]; a constant tensor gets a range around its value."""
    if lo == hi:
        half = max(0.5, abs(lo) / 2)
        lo, hi = lo - half, hi + half
    counts = torch.zeros(bins, dtype=torch.int64, device=finite.device)
    for chunk in finite.split(_HIST_CHUNK):
        counts += torch.histc(chunk, bins, lo, hi).long()
    edges = tuple(lo + (hi - lo) * i / bins for i in range(bins)) + (hi,)
    return tuple(counts.tolist()), edges
