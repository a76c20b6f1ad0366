"""The engine's subcommands: ``netstudio check``, ``summary``, ``export``, ``inspect``, ``import``, ``train``, ``diff``.

The ``netstudio`` console command starts in ``ui.launch``, which hands these
subcommands to ``main`` here and starts the app otherwise; this module imports
no Qt, so the subcommands run without a display.  They never print a
traceback: a problem is one line on stderr and a documented exit status
(0 fine, 1 invalid graph, 2 unreadable file or bad arguments).
"""

from __future__ import annotations

import argparse
import os
import sys

from .errors import NetStudioError

SUBCOMMANDS = ("check", "summary", "export", "inspect", "import", "train", "diff")


def _parse_shapes(text: str) -> list[list[int]]:
    """``1,3,224,224`` or ``2,10;2,5`` (one shape per input, separated by ``;``)."""
    return [_parse_shape(part) for part in text.split(";")]


def _parse_shape(text: str) -> list[int]:
    from .run.typed_text import parse_shape
    try:
        return parse_shape(text, minimum=0)
    except NetStudioError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netstudio", description="Build and inspect neural networks visually.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="print the diagnostics of a project (exit 1 if invalid)")
    p.add_argument("project")
    p.add_argument("--trust", action="store_true", help="run the project's code blocks")
    p = sub.add_parser("summary", help="print a table of modules, output shapes and parameter counts")
    p.add_argument("project")
    p.add_argument("--input", type=_parse_shape, action="append", metavar="SHAPE",
                   help="example input shape such as 2,20 (once per Input, in order)")
    p.add_argument("--trust", action="store_true", help="run the project's code blocks")
    p = sub.add_parser("export", help="write the network as plain PyTorch: model.py + model.safetensors")
    p.add_argument("project")
    p.add_argument("outdir", help="folder for model.py and model.safetensors (created if needed)")
    p.add_argument("--trust", action="store_true", help="run the project's code blocks")
    p.add_argument("--onnx", action="store_true", help="also write model.onnx (needs the onnx package)")
    p = sub.add_parser("inspect", help="list the tensors of a checkpoint with their statistics")
    p.add_argument("file", help="a .safetensors, .pt or .pth file")
    p.add_argument("--json", action="store_true",
                   help="print JSON instead of a table (infinities and NaN as the strings \"inf\", \"-inf\", \"nan\")")
    p = sub.add_parser("import", help="open a PyTorch model as a project: file.py:NAME, package.module:NAME "
                                      "or model.onnx")
    p.add_argument("source", help="path/to/file.py:NAME, package.module:NAME or path/to/model.onnx")
    p.add_argument("out", help="the project file to write (.netstudio)")
    p.add_argument("--input", type=_parse_shapes, metavar="SHAPE[;SHAPE...]",
                   help="example input shapes, such as 1,3,224,224 (several separated by ';'); "
                        "an ONNX file's own shapes by default")
    p.add_argument("--dtype", default="float32", help="the inputs' dtype (default float32)")
    from .training.arguments import add_arguments as add_train_arguments
    add_train_arguments(sub.add_parser("train", help="train a project on x and y of a tensor file (DDP under torchrun)"))
    p = sub.add_parser("diff", help="the relative change of every tensor between two checkpoints")
    p.add_argument("a", help="a .safetensors, .pt or .pth file")
    p.add_argument("b", help="a .safetensors, .pt or .pth file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        return COMMANDS[args.command](args)
    except NetStudioError as err:
        print(f"netstudio: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (``netstudio inspect F | head``): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as err:  # never a traceback for the user
        print(f"netstudio: unexpected error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2


def _command(name: str):
    """The ``run`` of ``netstudio.commands.<name>``, imported only when that command runs."""
    import importlib
    return importlib.import_module(f"netstudio.commands.{_MODULES.get(name, name)}").run


_MODULES = {"import": "import_model"}   # ``import`` is a keyword: no module can have that name


COMMANDS = {name: (lambda args, name=name: _command(name)(args)) for name in SUBCOMMANDS}


if __name__ == "__main__":
    sys.exit(main())
