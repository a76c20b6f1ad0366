"""How much each tensor changed between two checkpoints: ``‖B − A‖ / ‖A‖``, tensor by tensor.

Files are listed from their headers (:func:`open_checkpoint`); safetensors
tensors are views on a memory mapping (:class:`MappedFile`) and torch files
are memory-mapped by torch, so nothing is read twice or held whole: norms
are accumulated over chunks of ``CHUNK`` elements: large enough for torch
to spread each over its threads (chunks of 2**18 were 10x slower, measured
by ``benchmarks/bench_diff.py``), small enough to bound the temporaries.  Tensors missing on
one side, of different shapes, or not plain arrays of numbers (sparse,
quantized, meta) are listed, not compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from netstudio.files.checkpoint import Checkpoint, Entry, open_checkpoint
from netstudio.training.mapped import MappedFile

CHUNK = 1 << 22


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
                result.changes.append(Change(name, ea.shape, *_norms(ta, tb)))
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


def _norms(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """(‖a‖, ‖b − a‖), summed in float64 over chunks, each computed in a dtype exact enough for it."""
    a, b = a.reshape(-1), b.reshape(-1)
    work = torch.promote_types(a.dtype, b.dtype)
    if work not in (torch.float32, torch.float64) and not work.is_complex:   # half precision, integers, bool
        work = torch.float32 if work.is_floating_point else torch.float64
    norm2 = delta2 = 0.0
    for start in range(0, a.numel(), CHUNK):
        ca, cb = a[start:start + CHUNK].to(work), b[start:start + CHUNK].to(work)
        norm2 += float(torch.linalg.vector_norm(ca)) ** 2
        delta2 += float(torch.linalg.vector_norm(cb - ca)) ** 2
    return math.sqrt(norm2), math.sqrt(delta2)
