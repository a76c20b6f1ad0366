"""The training run: every check first, then the steps, the metrics, the checkpoints and the final weights.

:func:`prepare` reads the project and the data, runs the network on two
samples (eval mode, no gradients) so a shape or target problem is one
sentence, and checks the run directory; nothing is written until every rank
has passed it.  :func:`train` then runs the optimizer steps.  Losses stay on
the device and are averaged over the ranks and written every ``LOG_EVERY``
steps (and at each checkpoint), so logging neither synchronizes the device
nor adds a collective to every step.  Only rank 0 writes; on ``--resume``
it alone reads the checkpoint, DistributedDataParallel hands its weights to
the other ranks, and the optimizer and RNG states are broadcast, so the run
directory need not be shared between nodes.
"""

from __future__ import annotations

import gc

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from netstudio import __version__
from netstudio.errors import FileFormatError, NetStudioError, RunError
from netstudio.export.plain_pytorch import tensors_for_file
from netstudio.run.objectives import first_line, forward
from netstudio.serialization import save_project
from netstudio.training.distributed import World
from netstudio.training.losses import check_target, loss_function
from netstudio.training.network import Network, load_network, make_optimizer
from netstudio.training.options import Options
from netstudio.training.order import BatchOrder
from netstudio.training.progress import Progress
from netstudio.training.run_dir import FINAL, RunDir
from netstudio.training.samples import Samples, open_samples

LOG_EVERY = 10


@dataclass
class Prepared:
    opts: Options
    net: Network
    samples: Samples
    order: BatchOrder
    total: int
    record: dict
    run: RunDir
    resume_step: int


def prepare(opts: Options, world: World) -> Prepared:
    """Everything checked, nothing written; a problem is a one-sentence :class:`NetStudioError`."""
    net = load_network(opts.project, opts.trust, opts.seed, warn=world.rank == 0)
    samples = open_samples(opts.data)
    n, batch = len(samples), opts.batch_size
    if batch % world.size:
        raise NetStudioError(f"--batch-size {batch} cannot be split evenly over {world.size} processes.")
    if batch > n:
        raise NetStudioError(f"--batch-size {batch} is more than the {n} samples of the data.")
    order = BatchOrder(n, batch, opts.shuffle, opts.seed, world.rank, world.size)
    total = opts.steps or opts.epochs * order.steps_per_epoch
    _preflight(net.module, samples, opts.loss)
    record = {"netstudio": __version__, "torch": torch.__version__, "arguments": opts.to_json(),
              "trajectory": opts.trajectory(), "world_size": world.size, "project_sha256": net.sha256,
              "samples": n, "total_steps": total, "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    run = RunDir(opts.run_dir)
    if opts.resume:
        resume_step = run.check_resumable(record)
    else:
        run.check_new()
        resume_step = 0
    return Prepared(opts, net, samples, order, total, record, run, resume_step)


def _preflight(module: nn.Module, samples: Samples, loss: str) -> None:
    x, y = samples.batch(torch.arange(min(2, len(samples))))
    module.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            check_target(loss, forward(module, _as_input(x, module)), y)
    finally:
        module.train()


def _as_input(x: torch.Tensor, module: nn.Module) -> torch.Tensor:
    return _as_dtype(x, _float_dtype(module))


def _float_dtype(module: nn.Module) -> torch.dtype | None:
    return next((p.dtype for p in module.parameters() if p.is_floating_point()), None)


def _as_dtype(x: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """Floating-point data in the network's floating-point dtype; other dtypes (indices) as they are."""
    return x.to(dtype) if dtype is not None and x.is_floating_point() and x.dtype != dtype else x


def train(prep: Prepared, world: World) -> Path | None:
    """Run the remaining steps; the final weights' path on rank 0 (None elsewhere, or when already done)."""
    if prep.opts.resume and (prep.run.path / FINAL).exists():
        return None
    world.start()
    finished = False
    try:
        final = _Trainer(prep, world).run()
        finished = True
        return final
    finally:
        gc.collect()   # DDP's reducer must go before its process group, not at interpreter exit
        world.stop(together=finished)


class _Trainer:
    def __init__(self, prep: Prepared, world: World):
        self.prep, self.world, self.opts = prep, world, prep.opts
        self.module = prep.net.module
        state = self._load_checkpoint() if prep.resume_step else None
        state = world.broadcast(state)
        self.module.to(world.device)
        self.model = self.module
        if world.distributed:
            ids = [world.device] if world.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.module, device_ids=ids)
        o = self.opts
        self.optimizer = make_optimizer(o.optimizer, self.model.parameters(), o.lr, o.momentum, o.weight_decay)
        self.elapsed = 0.0
        if state is None:
            torch.manual_seed(o.seed + world.rank)
        else:
            self.optimizer.load_state_dict(state["optimizer"])
            _set_rng(state["rng"][world.rank])
            self.elapsed = float(state.get("elapsed", 0.0))
        if world.rank == 0:
            if o.resume:
                prep.run.keep_metrics_until(prep.resume_step)
            else:
                prep.run.start(prep.record)
        self.loss_fn, self.input_dtype = loss_function(o.loss), _float_dtype(self.module)
        self.pending: list[tuple[int, torch.Tensor, float]] = []

    def _load_checkpoint(self) -> dict | None:
        if self.world.rank != 0:
            return None
        weights, state = self.prep.run.load_checkpoint(self.prep.resume_step)
        try:
            self.module.load_state_dict(weights)
        except RuntimeError as err:
            raise FileFormatError(f"The checkpoint of step {self.prep.resume_step} does not fit the network: "
                                  f"{first_line(err)}.") from None
        return state

    def run(self) -> Path | None:
        prep, o, world = self.prep, self.opts, self.world
        progress = Progress(prep.total, prep.resume_step) if world.rank == 0 else None
        began = time.monotonic() - self.elapsed
        self.model.train()
        for step in range(prep.resume_step, prep.total):
            loss = self._step(step)
            done = step + 1
            self.pending.append((done, loss, time.time()))
            checkpoint = done % o.save_every == 0 and done < prep.total
            if done % LOG_EVERY == 0 or checkpoint or done == prep.total:
                self._flush(progress, time.monotonic() - began)
            if checkpoint:
                self._checkpoint(done, time.monotonic() - began)
        if progress is not None:
            progress.close()
        if world.rank != 0:
            return None
        path = prep.run.save_final(tensors_for_file(self.module))
        if o.update_project:
            weights = {k: v.detach().cpu() for k, v in self.module.state_dict().items()}
            save_project(prep.net.project, o.project, weights=weights, unplaced=prep.net.unplaced)
        return path

    def _step(self, step: int) -> torch.Tensor:
        x, y = self.prep.samples.batch(self.prep.order.indices(step))
        device = self.world.device
        try:
            x, y = _as_dtype(x, self.input_dtype).to(device, non_blocking=True), y.to(device, non_blocking=True)
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(x), y)
            loss.backward()
            self.optimizer.step()
        except NetStudioError:
            raise
        except Exception as err:
            raise RunError(f"Step {step + 1} failed: {first_line(err)}.") from None
        return loss.detach()

    def _flush(self, progress: Progress | None, elapsed: float) -> None:
        losses = self.world.mean(torch.stack([loss for _, loss, _ in self.pending]).float()).tolist()
        rows = [{"step": step, "loss": value, "lr": self.optimizer.param_groups[0]["lr"], "time": stamp,
                 "elapsed": round(elapsed, 3)} for (step, _, stamp), value in zip(self.pending, losses)]
        self.pending.clear()
        bad = next((row for row in rows if not abs(row["loss"]) < float("inf")), None)
        if self.world.rank == 0:
            self.prep.run.append_metrics(rows)
        if bad is not None:
            raise RunError(f"The loss is {bad['loss']} at step {bad['step']}; try a lower --lr.")
        if progress is not None:
            progress.update(rows[-1]["step"], rows[-1]["loss"])

    def _checkpoint(self, step: int, elapsed: float) -> None:
        rng = self.world.gather(_rng_state())
        if self.world.rank == 0:
            state = {"optimizer": self.optimizer.state_dict(), "rng": rng, "step": step, "elapsed": elapsed}
            self.prep.run.save_checkpoint(step, tensors_for_file(self.module), state)


def _rng_state() -> dict:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
