"""What a tensor really holds: expanded views, sparse, quantized, meta and nested tensors.

A checkpoint can hold ``torch.ones(1).expand(2**40)``: 2**40 elements over one
stored value.  Anything that reads such a tensor element by element
(``.float()``, ``.clone()``, ``reshape`` of a view that cannot be a view)
would allocate terabytes.  These helpers describe a tensor by what is stored
and give bounded stand-ins:

* :func:`collapse_repeats` drops stride-0 dimensions (``expand``): the values
  left each stand for ``repeat`` elements.
* :func:`describe` gives shape, element count, stored values and bytes, the
  layout and a short note (``"expanded view of 1 stored value"``) for listings.
* :func:`display_tensor` gives a dense tensor of at most ``max_numel``
  elements to draw: repeated dimensions narrowed to one, sparse tensors
  densified only when small, quantized ones dequantized.

Nothing here copies more than it returns.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from netstudio.errors import NetStudioError

DISPLAY_NUMEL = 1 << 24  # elements a stand-in for drawing may have
_BITS = {torch.bits1x8, torch.bits2x4, torch.bits4x2, torch.bits8, torch.bits16}  # no arithmetic at all
_SPARSE_NAMES = {
    torch.sparse_coo: "COO",
    torch.sparse_csr: "CSR",
    torch.sparse_csc: "CSC",
    torch.sparse_bsr: "BSR",
    torch.sparse_bsc: "BSC",
}


@dataclass(frozen=True)
class TensorFacts:
    """What a listing says about a tensor without reading its values."""

    shape: tuple[int, ...]
    dtype: str  # e.g. "float32", "qint8"
    numel: int
    nbytes: int  # bytes actually stored (values and indices)
    stored: int | None  # values actually stored when not one per element; None otherwise
    layout: str  # "strided", "sparse_coo", "sparse_csr", ..., "quantized", "meta", "nested"
    note: str  # a short phrase for an unusual tensor, "" for an ordinary one


def describe(t: torch.Tensor) -> TensorFacts:
    """Shape, counts, layout and note of ``t``, from its metadata only."""
    dtype = str(t.dtype).removeprefix("torch.")
    if t.is_nested:
        parts = t.size(0)
        return TensorFacts((parts,), dtype, t.numel(), t.numel() * t.element_size(), None, "nested",
                           f"nested tensor of {parts:,} tensors with {t.numel():,} values")
    shape, numel = tuple(t.shape), t.numel()
    if t.device.type == "meta":
        return TensorFacts(shape, dtype, numel, 0, 0, "meta", "meta tensor: a shape and dtype, no values")
    if t.layout in _SPARSE_NAMES:
        values, indices = sparse_parts(t)
        nbytes = values.numel() * values.element_size() + sum(i.numel() * i.element_size() for i in indices)
        stored = values.numel()
        return TensorFacts(shape, dtype, numel, nbytes, stored, str(t.layout).removeprefix("torch."),
                           f"sparse {_SPARSE_NAMES[t.layout]} tensor with {_values(stored)}")
    stored = stored_count(t)
    layout, note = ("quantized", f"quantized ({str(t.qscheme()).removeprefix('torch.')})") if t.is_quantized \
        else ("strided", "raw bits, not numbers" if t.dtype in _BITS else "")
    if stored is not None:
        kind = "expanded" if collapse_repeats(t)[0].numel() <= stored else "overlapping"
        repeat = f"{kind} view of {_values(stored)}"
        note = f"{note}, {repeat}" if note else repeat
    return TensorFacts(shape, dtype, numel, (numel if stored is None else stored) * t.element_size(),
                       stored, layout, note)


def _values(count: int) -> str:
    return f"{count:,} stored value{'s' if count != 1 else ''}"


def sparse_parts(t: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(stored values, index tensors) of a sparse tensor, without coalescing it."""
    if t.layout == torch.sparse_coo:
        return t._values(), [t._indices()]
    if t.layout in (torch.sparse_csr, torch.sparse_bsr):
        return t.values(), [t.crow_indices(), t.col_indices()]
    return t.values(), [t.ccol_indices(), t.row_indices()]


def nested_parts(t: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The tensors of a nested tensor (torch warns that nested tensors are a prototype: not for users)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return t.unbind()


def detached(t: torch.Tensor) -> torch.Tensor:
    """``t.detach()``, without torch's prototype warning for nested tensors."""
    if not t.is_nested:
        return t.detach()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return t.detach()


def collapse_repeats(t: torch.Tensor) -> tuple[torch.Tensor, int]:
    """A view of strided ``t`` without its stride-0 dimensions, and how often each value repeats."""
    keep = [(n, s) for n, s in zip(t.shape, t.stride()) if s != 0 or n == 0]
    repeat = math.prod(n for n, s in zip(t.shape, t.stride()) if s == 0 and n != 0)
    if repeat == 1 and len(keep) == t.ndim:
        return t, 1
    sizes, strides = [n for n, _ in keep], [s for _, s in keep]
    return t.as_strided(sizes, strides, t.storage_offset()), repeat


def span(t: torch.Tensor) -> int:
    """How many consecutive storage elements strided ``t`` reaches, from its first one."""
    if t.numel() == 0:
        return 0
    return 1 + sum((n - 1) * abs(s) for n, s in zip(t.shape, t.stride()))


def stored_count(t: torch.Tensor) -> int | None:
    """Distinct storage elements a strided ``t`` reads, when fewer than its elements; else None.

    For an overlapping view this is the span of storage it reaches (an upper
    bound on the distinct values, exact for sliding windows).
    """
    if t.numel() == 0:
        return None
    collapsed, _ = collapse_repeats(t)
    stored = min(collapsed.numel(), span(collapsed))
    return stored if stored < t.numel() else None


def display_tensor(t: torch.Tensor, max_numel: int = DISPLAY_NUMEL) -> torch.Tensor:
    """A dense, strided stand-in for ``t`` with at most ``max_numel`` elements when ``t`` repeats,
    is sparse or nested; an ordinary tensor is returned as it is (drawing reduces it).

    Repeated dimensions are narrowed to one element (every value still shows);
    a sparse tensor becomes dense when small, else its stored values; a
    quantized one is dequantized when small; meta and raw-bit tensors come back
    unchanged, and whatever draws them says they have no values.
    """
    t = detached(t)
    if t.device.type == "meta":
        return t
    if t.is_nested:
        return _leading(torch.cat([part.reshape(-1)[:max_numel] for part in nested_parts(t)]), max_numel)
    if t.layout in _SPARSE_NAMES:
        if t.numel() <= max_numel:
            return t.to_dense()
        return _leading(sparse_parts(t)[0].reshape(-1), max_numel)
    if stored_count(t) is not None:
        t = narrow_repeats(t)
        if t.numel() > max_numel:
            t = _leading(t, max_numel)
    return dequantized(t) if t.is_quantized and t.numel() <= max_numel else t


def dequantized(t: torch.Tensor) -> torch.Tensor:
    """``t.dequantize()``; a file can hold quantization parameters torch refuses (a zero point out
    of range), which is one sentence here."""
    try:
        return t.dequantize()
    except RuntimeError:
        raise NetStudioError("This quantized tensor has invalid quantization parameters, "
                             "so its values cannot be read.") from None


def real_values(x: torch.Tensor) -> torch.Tensor:
    """``x`` as real numbers: quantized tensors dequantized, complex ones as their magnitude
    (complex32 through complex64, which has the kernels)."""
    if x.is_quantized:
        x = dequantized(x)
    if x.dtype == torch.complex32:
        x = x.to(torch.complex64)
    if x.is_complex():
        x = x.abs()
    return x


def narrow_repeats(t: torch.Tensor) -> torch.Tensor:
    """``t`` with every stride-0 dimension narrowed to size one (same ndim, every value once)."""
    index = tuple(slice(0, 1) if s == 0 and n > 1 else slice(None) for n, s in zip(t.shape, t.stride()))
    return t[index]


def _leading(t: torch.Tensor, max_numel: int) -> torch.Tensor:
    """The leading part of ``t``: index 0 along the first dimensions, then as much as fits."""
    if t.numel() <= max_numel:
        return t
    k = next(k for k in range(t.ndim) if math.prod(t.shape[k + 1:]) <= max_numel)
    inner = math.prod(t.shape[k + 1:])
    return t[(*(slice(0, 1),) * k, slice(0, max_numel // inner))]


def require_values(t: torch.Tensor, what: str = "This tensor") -> None:
    """Raise a one-sentence error for a tensor whose values cannot be read at all."""
    if t.device.type == "meta":
        raise NetStudioError(f"{what} is a meta tensor: it has a shape and dtype but no values.")
    if t.dtype in _BITS:
        raise NetStudioError(f"{what} holds raw bits ({str(t.dtype).removeprefix('torch.')}), not numbers.")
