"""``netstudio summary PROJECT``: modules, output shapes and parameter counts."""

from __future__ import annotations

import sys


def run(args) -> int:
    from ..analysis import check
    from ..serialization import load_project
    from ..summary import summarize
    project = load_project(args.project, trusted=args.trust)
    for node, shape in zip(project.root_definition.inputs, args.input or []):
        node.params["shape"] = shape
    result = check(project)
    print(summarize(project, result).format())
    for diag in result.errors:
        print(f"error: {diag.line()}", file=sys.stderr)
    return 0 if result.ok else 1
