"""Each rank's batches are DistributedSampler's split, and the ranks together see one process's batches."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DistributedSampler

from netstudio.training.order import BatchOrder


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_ranks_split_the_global_batch_as_distributed_sampler_does(shuffle, world):
    n, batch, seed = 50, 12, 7
    per_rank = batch // world
    for rank in range(world):
        order = BatchOrder(n, batch, shuffle, seed, rank, world)
        for epoch in range(2):
            sampler = DistributedSampler(range(n), world, rank, shuffle=shuffle, seed=seed, drop_last=True)
            sampler.set_epoch(epoch)
            expected = list(sampler)
            for k in range(order.steps_per_epoch):
                got = order.indices(epoch * order.steps_per_epoch + k).tolist()
                assert got == expected[k * per_rank:(k + 1) * per_rank]
    one = BatchOrder(n, batch, shuffle, seed)
    for step in range(2 * one.steps_per_epoch):
        ranks = [BatchOrder(n, batch, shuffle, seed, r, world).indices(step) for r in range(world)]
        assert sorted(torch.cat(ranks).tolist()) == sorted(one.indices(step).tolist())
