"""Small synthetic tasks, generated from a seed, to train a network on in seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from netstudio.errors import RunError

TaskKind = Literal["regression", "classification"]


@dataclass(frozen=True)
class SyntheticTask:
    """Features ``(n, inputs)`` and targets: ``(n, outputs)`` floats, or ``(n,)`` class labels."""

    kind: TaskKind
    features: torch.Tensor
    targets: torch.Tensor
    n_outputs: int

    def __len__(self) -> int:
        return len(self.features)

    def indices(self, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """A fresh random mini-batch for each step."""
        n = len(self.features)
        return torch.randperm(n, generator=generator)[: min(batch_size, n)]

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.features[indices], self.targets[indices]

    def loss(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean squared error for regression, cross-entropy over logits for classification."""
        if tuple(output.shape) != (len(targets), self.n_outputs):
            raise RunError(
                f"The network outputs shape {tuple(output.shape)} but this task needs "
                f"({len(targets)}, {self.n_outputs}): one row of {self.n_outputs} per sample."
            )
        if self.kind == "regression":
            return F.mse_loss(output, targets)
        return F.cross_entropy(output, targets)


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RunError(f"The {name.replace('_', ' ')} must be a whole number of at least 1, not {value!r}.")


def make_regression(
    n_inputs: int, n_outputs: int = 1, n_samples: int = 256, noise: float = 0.01, seed: int = 0
) -> SyntheticTask:
    """``y = X w + b + noise``, with ``w``, ``b`` and ``X`` drawn from N(0, 1)."""
    _check_counts(number_of_inputs=n_inputs, number_of_outputs=n_outputs, number_of_samples=n_samples)
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n_inputs, n_outputs, generator=g)
    b = torch.randn(n_outputs, generator=g)
    x = torch.randn(n_samples, n_inputs, generator=g)
    y = x @ w + b + noise * torch.randn(n_samples, n_outputs, generator=g)
    return SyntheticTask("regression", x, y, n_outputs)


def make_classification(
    n_inputs: int, n_classes: int = 2, n_samples: int = 256, spread: float = 1.0, seed: int = 0
) -> SyntheticTask:
    """Gaussian blobs: one centre per class drawn from N(0, 3²), samples spread around it."""
    _check_counts(number_of_inputs=n_inputs, number_of_samples=n_samples)
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise RunError(f"A classification task needs at least 2 classes, not {n_classes!r}.")
    g = torch.Generator().manual_seed(seed)
    centres = 3.0 * torch.randn(n_classes, n_inputs, generator=g)
    labels = torch.arange(n_samples) % n_classes
    labels = labels[torch.randperm(n_samples, generator=g)]
    x = centres[labels] + spread * torch.randn(n_samples, n_inputs, generator=g)
    return SyntheticTask("classification", x, labels, n_classes)
