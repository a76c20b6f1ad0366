"""The command line of ``netstudio train``: shared by the parser in ``netstudio.cli`` and the relaunch of
``--nproc``, which rebuilds the command line from the parsed arguments."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", help="the project to train (.netstudio)")
    p.add_argument("--data", required=True, help="a .safetensors (or .pt) file holding tensors x and y, "
                                                 "samples along dim 0")
    p.add_argument("--run-dir", required=True, help="where run.json, metrics.jsonl and checkpoints go "
                                                    "(new or empty, unless --resume)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="optimizer steps to run")
    length.add_argument("--epochs", type=int, help="passes over the data (default 1)")
    p.add_argument("--batch-size", type=int, default=32, help="global batch, split over the processes (default 32)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    p.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default="sgd")
    p.add_argument("--momentum", type=float, help="sgd's momentum (default 0)")
    p.add_argument("--weight-decay", type=float, help="weight decay (torch's default for the optimizer)")
    p.add_argument("--loss", choices=("mse", "cross_entropy"), default="mse")
    p.add_argument("--save-every", type=int, default=500, help="checkpoint every K steps (default 500)")
    p.add_argument("--seed", type=int, default=0, help="data order, and initial weights of a project without seed")
    p.add_argument("--no-shuffle", action="store_true", help="visit the samples in file order")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its last checkpoint")
    p.add_argument("--nproc", type=int, default=1, help="train in N processes on this machine (DDP)")
    p.add_argument("--update-project", action="store_true", help="store the final weights in the project")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: the GPUs when there are, else the CPU")
    p.add_argument("--trust", action="store_true", help="run the project's code blocks")
