"""Which samples each optimizer step uses, on each rank.

Epoch ``e`` visits ``randperm(n)`` drawn from a generator seeded with
``seed + e`` (``arange(n)`` with ``--no-shuffle``), in global batches of
``B`` consecutive positions; the incomplete last batch is dropped so that
every step, on any number of processes, averages over exactly ``B`` samples.
Rank ``r`` of ``W`` takes positions ``r, r+W, r+2W...`` of the global batch:
the split ``DistributedSampler(shuffle, seed, drop_last=True)`` makes, so
``W`` processes together see the very batches one process sees.  It is
computed with tensors instead of the sampler's Python lists, which would
take gigabytes for a billion samples, and a step's indices follow from the
step number alone, which is what makes ``--resume`` exact.
"""

from __future__ import annotations

import torch


class BatchOrder:
    """``indices(step)``: this rank's sample indices for a 0-based optimizer step."""

    def __init__(self, samples: int, batch_size: int, shuffle: bool, seed: int, rank: int = 0, world: int = 1):
        self.samples, self.batch_size, self.shuffle, self.seed = samples, batch_size, shuffle, seed
        self.rank, self.world = rank, world
        self._epoch, self._perm = -1, None

    @property
    def steps_per_epoch(self) -> int:
        return self.samples // self.batch_size

    def indices(self, step: int) -> torch.Tensor:
        epoch, k = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._epoch, self._perm = epoch, self._permutation(epoch)
        start = k * self.batch_size
        return self._perm[start + self.rank:start + self.batch_size:self.world]

    def _permutation(self, epoch: int) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.samples)
        g = torch.Generator()
        g.manual_seed(self.seed + epoch)
        return torch.randperm(self.samples, generator=g)
