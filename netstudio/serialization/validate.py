"""Validation of a project dict: every problem with the JSON path where it is."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from ..graph.project import FORMAT, VERSION
from .schema import PROJECT

_VALIDATOR = Draft202012Validator(PROJECT)


class NotAProject(Exception):
    """The data is not a NetStudio project at all, or from a newer version; one sentence."""


def json_path(parts) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def validate_project(data: Any) -> list[tuple[str, str]]:
    """``[(json_path, problem), ...]``; empty when the project is well formed.

    Raises ``NotAProject`` for data that is not a project, or a future version.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise NotAProject("it is not a NetStudio project")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise NotAProject(f"it was saved by a newer NetStudio (format version {version}); "
                          f"this version reads version {VERSION}")
    problems = [(json_path(e.absolute_path), e.message)
                for e in sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]
    if problems:
        return problems
    return _check_references(data)


def _check_references(data: dict) -> list[tuple[str, str]]:
    problems = []
    if data["root"] not in data["definitions"]:
        problems.append(("$.root", f"the root definition {data['root']!r} is not among the definitions"))
    seen: dict[str, str] = {}
    for dname, d in data["definitions"].items():
        ids = set()
        for i, node in enumerate(d["nodes"]):
            path = f"$.definitions.{dname}.nodes[{i}].id"
            if node["id"] in seen:
                problems.append((path, f"node id {node['id']!r} is used twice"))
            seen[node["id"]] = path
            ids.add(node["id"])
        for i, edge in enumerate(d["edges"]):
            path = f"$.definitions.{dname}.edges[{i}]"
            if edge["id"] in seen:
                problems.append((path + ".id", f"id {edge['id']!r} is used twice"))
            seen[edge["id"]] = path
            for end in ("src", "dst"):
                if edge[end][0] not in ids:
                    problems.append((f"{path}.{end}[0]", f"node {edge[end][0]!r} is not in definition {dname!r}"))
    return problems
