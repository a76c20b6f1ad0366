"""``netstudio train PROJECT --data DATA --run-dir DIR``: train a project on a tensor file, on one process or many.

Runs in this process, in each process ``torchrun`` starts, or, with
``--nproc N``, relaunches itself in ``N`` processes after checking
everything once.  Exit 0 when trained, 2 with one sentence on stderr
otherwise (and nothing written into an existing run directory).
"""

from __future__ import annotations

import argparse

from ..training.arguments import add_arguments


def run(args) -> int:
    from ..errors import NetStudioError
    from ..training.distributed import World, relaunch, under_torchrun, world_from_env
    from ..training.loop import prepare, train
    from ..training.options import options_from_args
    import torch

    opts = options_from_args(args)
    if opts.nproc > 1 and not under_torchrun():
        prepare(opts, World(0, opts.nproc, 0, torch.device("cpu")))
        return relaunch(command_line(args), opts.nproc)
    world = world_from_env(opts.device)
    if opts.nproc > 1 and opts.nproc != world.size:
        raise NetStudioError(f"--nproc {opts.nproc} does not match the {world.size} processes torchrun started.")
    path = train(prepare(opts, world), world)
    if world.rank == 0:
        print(path if path is not None else f"The run in {opts.run_dir} is already finished.")
    return 0


def command_line(args) -> list[str]:
    """``args`` as the command line that gives them, for the processes ``--nproc`` starts: without
    ``--nproc`` itself, which torchrun's parser would take for an abbreviation of its own option."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = ["train"]
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings:
            argv.append(value)
        elif isinstance(action, argparse._StoreTrueAction):
            argv += [action.option_strings[0]] if value else []
        elif value is not None and action.dest not in ("help", "nproc"):
            argv += [action.option_strings[0], str(value)]
    return argv
