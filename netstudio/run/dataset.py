"""Training in the app on a dataset file: mini-batches of ``x`` and ``y``, of any rank, with one loss.

The file is read by the command line trainer's reader
(:func:`netstudio.training.samples.open_samples`: a safetensors file
memory-mapped, a ``.pt`` through the weights-only loader), which the app
hands over as ``samples``: anything with ``len()``, ``batch(indices) -> (x, y)``
and ``x``/``y`` that know their ``sample_shape`` and ``dtype``.  This module
sits below that package, so it never opens files itself.

Before a run, :func:`check_values` scans the data for NaN and infinities
(up to ``SCAN_BYTES`` of it; each batch is checked again as it is drawn), and
:func:`check_fit` runs the network on two samples, as ``netstudio train``
does, so a shape or target that does not fit is one sentence, not a failure
in the middle of a run.  Batches visit the samples in a shuffled order, a new
one each pass over the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from netstudio.errors import RunError
from netstudio.run.losses import LOSSES, check_class_range, check_target, loss_function
from netstudio.run.modes import running_in
from netstudio.run.objectives import first_line, forward

SCAN_BYTES = 64 * 2 ** 20   # NaN, infinities and class indices are checked up front in at most this much data
SCAN_CHUNK = 4096           # samples read at a time while scanning


class Rows(Protocol):
    sample_shape: tuple[int, ...]
    dtype: torch.dtype

    def __len__(self) -> int: ...

    def take(self, indices: torch.Tensor) -> torch.Tensor: ...


class Samples(Protocol):
    x: Rows
    y: Rows

    def __len__(self) -> int: ...

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


def float_dtype(module: nn.Module) -> torch.dtype | None:
    """The network's floating-point dtype (of its first floating-point parameter)."""
    return next((p.dtype for p in module.parameters() if p.is_floating_point()), None)


def as_input(x: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """Floating-point data in the network's floating-point dtype; other dtypes (token indices) as they are."""
    return x.to(dtype) if dtype is not None and x.is_floating_point() and x.dtype != dtype else x


@dataclass
class DatasetTask:
    """``samples`` trained on with ``loss_name`` (``mse`` or ``cross_entropy``); ``name`` is how the
    file is named in messages.  ``classes`` is set by :func:`check_fit` for class indices."""

    samples: Samples
    loss_name: str
    name: str = "the data"
    classes: int | None = None
    _epoch: int = field(default=-1, repr=False)
    _order: torch.Tensor | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.loss_name not in LOSSES:
            raise RunError(f"Unknown loss '{self.loss_name}'; use {' or '.join(LOSSES)}.")

    def __len__(self) -> int:
        return len(self.samples)

    def indices(self, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """The samples of 1-based ``step``: consecutive slices of a shuffled order, a new order each pass
        (the last incomplete batch of a pass is dropped, so every step has ``batch_size`` samples)."""
        n = len(self)
        size = min(batch_size, n)
        per_pass = n // size
        epoch, k = divmod(step - 1, per_pass)
        if epoch != self._epoch:
            self._epoch, self._order = epoch, torch.randperm(n, generator=generator)
        return self._order[k * size:(k + 1) * size]

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.samples.batch(indices)
        if x.is_floating_point() and not bool(torch.isfinite(x).all()):
            raise RunError(f"{_capital(self.name)} holds NaN or infinite values in 'x' (sample "
                           f"{_first_bad(x, indices)}); clean the data before training on it.")
        if self.loss_name == "cross_entropy" and self.classes is not None:
            check_class_range(y, self.classes, indices)
        return x, y

    def loss(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return loss_function(self.loss_name)(output, targets.to(output.device))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _first_bad(x: torch.Tensor, indices: torch.Tensor) -> int:
    bad = ~torch.isfinite(x.reshape(len(x), -1)).all(dim=1)
    return int(indices[int(bad.nonzero()[0, 0])])


def describe(task: DatasetTask) -> str:
    """``"1,200 samples: x (1, 28, 28) float16, y () int64"``, for the person choosing the file."""
    s = task.samples
    dtype = lambda rows: str(rows.dtype).removeprefix("torch.")  # noqa: E731
    return (f"{len(s):,} samples: x {tuple(s.x.sample_shape)} {dtype(s.x)}, "
            f"y {tuple(s.y.sample_shape)} {dtype(s.y)}")


def _chunks(task: DatasetTask, rows: Rows):
    """``(indices, values)`` of ``rows``, a chunk at a time, over at most ``SCAN_BYTES``."""
    per_sample = max(1, rows.dtype.itemsize * int(torch.Size(rows.sample_shape).numel()))
    end = min(len(task), max(1, SCAN_BYTES // per_sample))
    for start in range(0, end, SCAN_CHUNK):
        indices = torch.arange(start, min(start + SCAN_CHUNK, end))
        yield indices, rows.take(indices)


def check_values(task: DatasetTask) -> None:
    """Raise :class:`RunError` when ``x`` or float ``y`` holds NaN or infinity (in the first ``SCAN_BYTES``)."""
    for name in ("x", "y"):
        rows = getattr(task.samples, name)
        if not rows.dtype.is_floating_point:
            continue
        for indices, values in _chunks(task, rows):
            if not bool(torch.isfinite(values).all()):
                raise RunError(f"{_capital(task.name)} holds NaN or infinite values in '{name}' (sample "
                               f"{_first_bad(values, indices)}); clean the data before training on it.")


def check_fit(module: nn.Module, task: DatasetTask) -> torch.Tensor:
    """Run ``module`` on two samples (eval mode, no gradients, the random state kept) and check that the
    output fits ``y`` under the task's loss, and, for class indices, that every index (in the first
    ``SCAN_BYTES``) names one of the output's classes; the two samples, ready for the network.

    A lazy network takes its sizes from them, as it would from the first batch of the run."""
    s = task.samples
    first = torch.arange(min(2, len(task)))
    x, y = s.batch(first)
    param = next(module.parameters(), None)
    if param is not None:
        x = as_input(x, float_dtype(module)).to(param.device)
    with running_in(module, "eval"), torch.no_grad(), torch.random.fork_rng(devices=[]):
        try:
            output = forward(module, x)
        except RunError as err:
            raise RunError(f"{_capital(task.name)} holds samples of shape {tuple(s.x.sample_shape)}, which the "
                           f"network cannot take ({_lower(first_line(err))}).") from None
    check_target(task.loss_name, output, y.to(output.device))
    if task.loss_name == "cross_entropy" and not y.is_floating_point():
        task.classes = int(output.shape[1])
        for indices, labels in _chunks(task, s.y):
            check_class_range(labels, task.classes, indices)
    return x


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]
