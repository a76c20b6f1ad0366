"""The engine's subcommands: ``netstudio check``, ``summary``, ``export``, ``inspect``.

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
    p = sub.add_parser("export", help="write the network as plain PyTorch: model.py + model.safetensors")
    p.add_argument("project")
    p.add_argument("outdir", help="folder for model.py and model.safetensors (created if needed)")
    p.add_argument("--trust", action="store_true", help="run the project's code blocks")
    p.add_argument("--onnx", action="store_true", help="also write model.onnx (needs the onnx package)")
    p = sub.add_parser("inspect", help="list the tensors of a checkpoint with their statistics")
    p.add_argument("file", help="a .safetensors, .pt or .pth file")
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


def cmd_export(args) -> int:
    from pathlib import Path

    from .analysis import check
    from .compiler import compile_project
    from .errors import GraphError
    from .export import example_inputs, export_onnx, export_plain_pytorch
    from .export.onnx_export import require_onnx
    from .serialization import load_project
    if args.onnx:
        require_onnx()  # before any work: a missing package is exit 2, like any unusable argument
    project = load_project(args.project, trusted=args.trust)
    result = check(project)
    if not result.ok:
        for diag in result.diagnostics:
            print(f"{diag.severity}: {diag.line()}", file=sys.stderr)
        return 1
    try:
        module = compile_project(project, result=result)
    except GraphError as err:
        print(f"netstudio: {err}", file=sys.stderr)
        return 1
    paths = list(export_plain_pytorch(project, module, args.outdir).paths)
    if args.onnx:
        paths.append(export_onnx(module, example_inputs(project, module), Path(args.outdir) / "model.onnx"))
    for path in paths:
        print(path)
    return 0


def cmd_inspect(args) -> int:
    import json

    from .files.checkpoint import open_checkpoint
    from .tensors.stats import tensor_stats
    ckpt = open_checkpoint(args.file)
    tensors, values, stats_of = [], [], {}
    for entry in ckpt.entries:
        if not entry.is_tensor:
            values.append({"name": entry.name, "value": _json_value(entry.value)})
            continue
        if entry.alias_of is None or entry.alias_of not in stats_of:
            stats_of[entry.name] = tensor_stats(entry.load(), bins=1)
        stats = stats_of.get(entry.alias_of) or stats_of[entry.name]
        tensors.append({"name": entry.name, "shape": list(entry.shape), "dtype": entry.dtype, "numel": entry.numel,
                        "nbytes": entry.nbytes, "alias_of": entry.alias_of, "min": stats.min, "max": stats.max,
                        "mean": stats.mean, "std": stats.std, "nans": stats.nans, "infs": stats.infs})
    totals = {"tensors": len(tensors), "numel": ckpt.numel, "nbytes": ckpt.nbytes}
    if args.json:
        print(json.dumps({"file": str(ckpt.path), "format": ckpt.kind, "tensors": tensors, "values": values,
                          "metadata": ckpt.metadata, "totals": totals}, indent=1, allow_nan=False))
        return 0
    print(f"{ckpt.path.name} ({ckpt.kind})")
    header = ("Name", "Shape", "Dtype", "Min", "Max", "Mean", "Std", "NaN", "Inf", "")
    rows = [(t["name"], "(" + ", ".join(str(s) for s in t["shape"]) + ("," if len(t["shape"]) == 1 else "") + ")",
             t["dtype"], *(_number(t[k]) for k in ("min", "max", "mean", "std")), str(t["nans"]), str(t["infs"]),
             f"same tensor as {t['alias_of']}" if t["alias_of"] else "") for t in tensors]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {3, 4, 5, 6, 7, 8}
    for row in [header, *rows]:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
    for v in values:
        print(f"{v['name']} = {json.dumps(v['value'])}")
    print(f"Total: {len(tensors)} tensor{'s' if len(tensors) != 1 else ''}, {totals['numel']:,} elements, "
          f"{_size(totals['nbytes'])}" + (" (shared tensors counted once)" if any(t["alias_of"] for t in tensors)
                                          else ""))
    return 0


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _size(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{nbytes:,} bytes" if unit == "bytes" else f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} TB"  # pragma: no cover - unreachable


def _json_value(value):
    """A checkpoint's non-tensor value as JSON: numbers, text, lists and objects as such, else its repr."""
    import json
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)


COMMANDS = {"check": cmd_check, "summary": cmd_summary, "export": cmd_export, "inspect": cmd_inspect}


if __name__ == "__main__":
    sys.exit(main())
