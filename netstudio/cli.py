"""The engine's subcommands: ``netstudio check``, ``summary``, ``export``, ``inspect``.

The ``netstudio`` console command starts in ``ui.launch``, which hands these
subcommands to ``main`` here and starts the app otherwise; this module imports
no Qt, so the subcommands run without a display.  They never print a
traceback: a problem is one line on stderr and a documented exit status
(0 fine, 1 invalid graph, 2 unreadable file or bad arguments).
"""

from __future__ import annotations

import argparse
import sys

from .errors import NetStudioError

SUBCOMMANDS = ("check", "summary", "export", "inspect")


def _parse_shape(text: str) -> list[int]:
    try:
        dims = [int(x) for x in text.replace("x", ",").split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 2,20") from None
    if any(d < 0 for d in dims):
        raise argparse.ArgumentTypeError(f"{text!r} has a negative size")
    return dims


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
    except Exception as err:  # never a traceback for the user
        print(f"netstudio: unexpected error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2


def cmd_check(args) -> int:
    from .analysis import check
    from .serialization import load_project
    project = load_project(args.project, trusted=args.trust)
    result = check(project)
    for diag in result.diagnostics:
        print(f"{diag.severity}: {diag.line()}")
    if result.ok:
        print(f"{project.name}: valid")
    return 0 if result.ok else 1


def cmd_summary(args) -> int:
    from .analysis import check
    from .serialization import load_project
    from .summary import summarize
    project = load_project(args.project, trusted=args.trust)
    for node, shape in zip(project.root_definition.inputs, args.input or []):
        node.params["shape"] = shape
    result = check(project)
    print(summarize(project, result).format())
    for diag in result.errors:
        print(f"error: {diag.line()}", file=sys.stderr)
    return 0 if result.ok else 1


COMMANDS = {"check": cmd_check, "summary": cmd_summary}


if __name__ == "__main__":
    sys.exit(main())
