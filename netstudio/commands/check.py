"""``netstudio check PROJECT``: the diagnostics of a project (exit 1 if invalid)."""

from __future__ import annotations


def run(args) -> int:
    from ..analysis import check
    from ..serialization import load_project
    project = load_project(args.project, trusted=args.trust)
    result = check(project)
    for diag in result.diagnostics:
        print(f"{diag.severity}: {diag.line()}")
    if result.ok:
        print(f"{project.name}: valid")
    return 0 if result.ok else 1
