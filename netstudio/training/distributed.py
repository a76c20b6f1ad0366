"""One process or many: torchrun's environment, the process group, and ``--nproc`` relaunching.

Under ``torchrun`` (``WORLD_SIZE`` and ``RANK`` set) each process trains one
replica under DistributedDataParallel: gloo on the CPU, nccl on GPUs, one
GPU per local rank.  ``--nproc N`` outside torchrun starts ``N`` such
processes through ``torch.distributed.run --standalone`` (see
:mod:`netstudio.training.launch`), after the parent has checked everything,
so bad input is refused once, before any process starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist

from netstudio.errors import NetStudioError


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def start(self) -> None:
        """Join the process group (a rendezvous: every rank has passed its checks once this returns)."""
        if not self.distributed:
            return
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    def stop(self, together: bool = False) -> None:
        """Leave the process group.  ``together`` (a finished run): first wait until every rank is done, since
        a rank that tears gloo down while another still writes its last files can abort at exit
        ("terminate called without an active exception"); a failed run leaves at once."""
        if not (self.distributed and dist.is_initialized()):
            return
        if together:
            dist.barrier()
        dist.destroy_process_group()

    def broadcast(self, obj: object) -> object:
        """Rank 0's ``obj``, on every rank."""
        if not self.distributed:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj: object) -> list:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.distributed:
            return [obj]
        out = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        if self.distributed:
            values = values.clone()
            dist.all_reduce(values)
            values /= self.size
        return values


def under_torchrun() -> bool:
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def world_from_env(device: str) -> World:
    """This process's place, from torchrun's variables (one process without them); ``device``: auto, cpu or cuda."""
    try:
        size, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise NetStudioError("WORLD_SIZE, RANK and LOCAL_RANK must be whole numbers.") from None
    if device == "cuda" and not torch.cuda.is_available():
        raise NetStudioError("--device cuda was asked for, but this machine has no usable CUDA GPU.")
    if device == "cpu" or not torch.cuda.is_available():
        return World(rank, size, local_rank, torch.device("cpu"))
    return World(rank, size, local_rank, torch.device("cuda", local_rank % torch.cuda.device_count()))


def relaunch(argv: list[str], nproc: int) -> int:
    """Run ``netstudio ARGV`` in ``nproc`` processes on this machine; their exit status."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    command = [sys.executable, "-m", "netstudio.training.launch", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "netstudio", *argv]
    return subprocess.run(command, env=env).returncode
