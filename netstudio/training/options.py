"""The arguments of ``netstudio train``, checked before anything is read or written.

``trajectory`` lists what decides the weights a run ends with: ``--resume``
refuses a run directory that was started with other values, since it could
not continue that run exactly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from netstudio.errors import NetStudioError

OPTIMIZERS = ("sgd", "adam", "adamw")
TRAJECTORY = ("steps", "epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "loss", "seed",
              "shuffle")


@dataclass(frozen=True)
class Options:
    project: str
    data: str
    run_dir: str
    steps: int | None
    epochs: int | None
    batch_size: int
    lr: float
    optimizer: str
    momentum: float | None
    weight_decay: float | None
    loss: str
    save_every: int
    seed: int
    shuffle: bool
    resume: bool
    nproc: int
    update_project: bool
    trust: bool
    device: str

    def to_json(self) -> dict:
        return asdict(self)

    def trajectory(self) -> dict:
        return {name: getattr(self, name) for name in TRAJECTORY}


def options_from_args(args) -> Options:
    """:class:`Options` from the parsed command line, or a one-sentence :class:`NetStudioError`."""
    if args.steps is None and args.epochs is None:
        args.epochs = 1
    for flag, value in (("--steps", args.steps), ("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--save-every", args.save_every), ("--nproc", args.nproc)):
        if value is not None and value < 1:
            raise NetStudioError(f"{flag} must be at least 1, not {value}.")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise NetStudioError(f"--lr must be a positive number, not {args.lr}.")
    for flag, value in (("--momentum", args.momentum), ("--weight-decay", args.weight_decay)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise NetStudioError(f"{flag} must be a number of at least 0, not {value}.")
    if args.momentum is not None and args.optimizer != "sgd":
        raise NetStudioError(f"--momentum applies to sgd only, not to {args.optimizer}.")
    return Options(project=args.project, data=args.data, run_dir=args.run_dir, steps=args.steps,
                   epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                   momentum=args.momentum, weight_decay=args.weight_decay, loss=args.loss,
                   save_every=args.save_every, seed=args.seed, shuffle=not args.no_shuffle, resume=args.resume,
                   nproc=args.nproc, update_project=args.update_project, trust=args.trust, device=args.device)
