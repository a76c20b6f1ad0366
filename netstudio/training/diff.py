"""How much each tensor changed between two checkpoints: ``‖B − A‖ / ‖A‖``, tensor by tensor.

Files are listed from their headers (:func:`open_checkpoint`); safetensors
tensors are views on a memory mapping (:class:`MappedFile`) and torch files
are memory-mapped by torch, so nothing is held whole.  Each tensor is
compared in one pass over chunks of ``CHUNK`` elements: ``B − A`` is written
into a buffer reused for every chunk and tensor (no allocation and no fresh
pages per chunk; half-precision and integer values are converted into
reused buffers the same way), then the norms of ``A`` and ``B − A`` are
taken row by row (rows of ``ROW`` elements, one vectorised reduction per
chunk; ``A``'s first, so that the subtraction finds it in the cache) and
the rows' squares summed in float64.  That is faster and more exact than
one norm per chunk: torch's norm of a whole 4M-element float32 vector is
off by up to ~1e-4, rows of 16K elements summed in float64 by ~1e-8.
Three parallel torch operations per chunk: larger chunks mean fewer of
them, which matters when other processes want the cores too (each waits for
every thread), smaller ones keep more of a chunk in the cache; 2M elements
was the best compromise on two cores (``benchmarks/bench_diff.py``).
Tensors missing on one side, of different shapes, or not plain arrays of
numbers (sparse, quantized, meta) are listed, not compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from netstudio.files.checkpoint import Checkpoint, Entry, open_checkpoint
from netstudio.training.mapped import MappedFile

CHUNK = 1 << 21    # elements per chunk: 24 MB of float32 for A, B and B − A, within a 32 MB L3 cache
ROW = 1 << 14      # elements per row of a chunk's norm


@dataclass(frozen=True)
class Change:
    name: str
    shape: tuple[int, ...]
    norm: float          # ‖A‖
    delta: float         # ‖B − A‖

    @property
    def relative(self) -> float:
        """``delta / norm``; a change of an all-zero tensor is infinite, no change is 0."""
        if self.norm:
            return self.delta / self.norm
        return math.inf if self.delta else 0.0


@dataclass
class Diff:
    changes: list[Change] = field(default_factory=list)     # largest relative change first
    only_a: list[Entry] = field(default_factory=list)
    only_b: list[Entry] = field(default_factory=list)
    reshaped: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (name, why it was not compared)


def diff_checkpoints(a: str, b: str) -> Diff:
    """Compare the tensors of files ``a`` and ``b`` by name; one-sentence errors for unreadable files."""
    ckpt_a, ckpt_b = open_checkpoint(a), open_checkpoint(b)
    tensors_a, tensors_b = _tensors(ckpt_a), _tensors(ckpt_b)
    load_a, load_b = _loader(ckpt_a), _loader(ckpt_b)
    scratch = _Scratch()
    result = Diff()
    result.only_b = [e for name, e in tensors_b.items() if name not in tensors_a]
    for name, ea in tensors_a.items():
        eb = tensors_b.get(name)
        if eb is None:
            result.only_a.append(ea)
        elif ea.shape != eb.shape:
            result.reshaped.append((name, ea.shape, eb.shape))
        else:
            ta, tb = load_a(ea), load_b(eb)
            why = _not_comparable(ta) or _not_comparable(tb)
            if why:
                result.skipped.append((name, why))
            else:
                result.changes.append(Change(name, ea.shape, *_norms(ta, tb, scratch)))
    result.changes.sort(key=lambda c: (-c.relative, c.name))
    return result


def _tensors(ckpt: Checkpoint) -> dict[str, Entry]:
    return {e.name: e for e in ckpt.entries if e.is_tensor}


def _loader(ckpt: Checkpoint):
    """Entry -> tensor: a view on the mapping for safetensors, torch's (mapped) loader otherwise."""
    if ckpt.kind != "safetensors":
        return Entry.load
    mapped = MappedFile(Path(ckpt.path))
    return lambda entry: mapped.tensor(entry.alias_of or entry.name)


def _not_comparable(t: torch.Tensor) -> str:
    if t.layout != torch.strided or t.is_quantized or t.device.type == "meta" or t.is_nested:
        return "not a plain array of numbers"
    return ""


class _Scratch:
    """Buffers reused across chunks and tensors, one per (role, dtype), grown to the largest need."""

    def __init__(self):
        self._buffers: dict[tuple[str, torch.dtype], torch.Tensor] = {}

    def get(self, role: str, dtype: torch.dtype, size: int) -> torch.Tensor:
        buf = self._buffers.get((role, dtype))
        if buf is None or buf.numel() < size:
            buf = self._buffers[role, dtype] = torch.empty(size, dtype=dtype)
        return buf[:size]


def _work_dtype(a: torch.dtype, b: torch.dtype) -> torch.dtype:
    """The dtype both are compared in: float32 for half precision, float64 for integers and bool."""
    work = torch.promote_types(a, b)
    if work == torch.complex32:
        return torch.complex64
    if work not in (torch.float32, torch.float64) and not work.is_complex:
        return torch.float32 if work.is_floating_point else torch.float64
    return work


def _norms(a: torch.Tensor, b: torch.Tensor, scratch: _Scratch | None = None) -> tuple[float, float]:
    """(‖a‖, ‖b − a‖) in one pass over chunks, row norms in the work dtype summed in float64."""
    scratch = scratch or _Scratch()
    a, b = a.reshape(-1), b.reshape(-1)
    total = a.numel()
    work = _work_dtype(a.dtype, b.dtype)
    size = min(CHUNK, total)
    delta = scratch.get("delta", work, size)
    copy_a = scratch.get("a", work, size) if a.dtype != work else None
    copy_b = scratch.get("b", work, size) if b.dtype != work else None
    real = torch.float64 if work in (torch.float64, torch.complex128) else torch.float32
    row_norms = scratch.get("rows", real, 2 * (total // ROW)).view(2, -1)   # ‖a‖, ‖b − a‖ of each row
    rows = 0
    tail_a2 = tail_d2 = 0.0
    for start in range(0, total, CHUNK):
        ca, cb = a[start:start + CHUNK], b[start:start + CHUNK]
        n = ca.numel()
        if copy_a is not None:
            ca = copy_a[:n].copy_(ca)
        k = n // ROW
        if k:   # A first: the subtraction then reads it from the cache
            torch.linalg.vector_norm(ca[:k * ROW].view(k, ROW), dim=1, out=row_norms[0, rows:rows + k])
        if copy_b is not None:
            cb = copy_b[:n].copy_(cb)
        cd = torch.sub(cb, ca, out=delta[:n])
        if k:
            torch.linalg.vector_norm(cd[:k * ROW].view(k, ROW), dim=1, out=row_norms[1, rows:rows + k])
            rows += k
        if k * ROW < n:
            tail_a2 += _square_sum(ca[k * ROW:])
            tail_d2 += _square_sum(cd[k * ROW:])
    norm2, delta2 = row_norms[:, :rows].double().square().sum(dim=1).tolist() if rows else (0.0, 0.0)
    return math.sqrt(norm2 + tail_a2), math.sqrt(delta2 + tail_d2)


def _square_sum(t: torch.Tensor) -> float:
    """Σ|t|², in float64."""
    t = t.abs() if t.is_complex() else t
    return float(t.double().square().sum())
