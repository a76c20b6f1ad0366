"""``netstudio export PROJECT OUTDIR``: the network as plain PyTorch, with the project's stored weights."""

from __future__ import annotations

import sys


def run(args) -> int:
    from pathlib import Path

    from ..analysis import check
    from ..compiler import compile_project
    from ..errors import GraphError
    from ..export import example_inputs, export_onnx, export_plain_pytorch, materialize
    from ..export.onnx_export import require_onnx
    from ..export.stored_weights import load_stored_weights
    from ..serialization import load_project_and_weights
    if args.onnx:
        require_onnx()  # before any work: a missing package is exit 2, like any unusable argument
    project, weights = load_project_and_weights(args.project, trusted=args.trust)
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
    if weights is not None:  # trained weights: export those, not the seed's initial values
        materialize(project, module)
        for line in load_stored_weights(module, weights):
            print(f"warning: {line}", file=sys.stderr)
        del weights
    paths = list(export_plain_pytorch(project, module, args.outdir).paths)
    if args.onnx:
        paths.append(export_onnx(module, example_inputs(project, module), Path(args.outdir) / "model.onnx"))
    for path in paths:
        print(path)
    return 0
