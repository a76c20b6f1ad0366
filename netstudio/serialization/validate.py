"""Validation of a project dict: every problem with the JSON path where it is.

Run on data that :func:`json_limits.value_problem` accepted (bounded depth, no
huge integers, no lone surrogates).  At most :data:`MAX_PROBLEMS` schema
problems are collected: a file whose million array items are each wrong would
otherwise build a million error objects, kilobytes each.

Two validators share the one schema.  fastjsonschema compiles it to plain
Python once and says yes or no about twenty times faster (0.12 s instead of
2.6 s for 10,000 blocks); it knows JSON Schema up to draft 7, so it gets the
schema with draft 2020-12's ``prefixItems`` written as draft 7's tuple
``items``, which means the same.  Only when it says no does jsonschema run, to
list every problem with its path; jsonschema has the last word.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

from ..graph.edge_bends import MAX_BENDS
from ..graph.project import FORMAT, VERSION
from .json_limits import format_path, value_problem
from .schema import PROJECT

_VALIDATOR = Draft202012Validator(PROJECT)
MAX_PROBLEMS = 100


def as_draft7(schema: Any) -> Any:
    """The schema in draft 7's words: ``prefixItems`` is the tuple form of ``items``."""
    if isinstance(schema, dict):
        return {("items" if k == "prefixItems" else k):
                ("http://json-schema.org/draft-07/schema#" if k == "$schema" else as_draft7(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [as_draft7(v) for v in schema]
    return schema


_IS_VALID = fastjsonschema.compile(as_draft7(PROJECT))


def _well_formed(data: Any) -> bool:
    try:
        _IS_VALID(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


class NotAProject(Exception):
    """The data is not a NetStudio project at all, or from a newer version; one sentence."""


def json_path(parts) -> str:
    return format_path(parts)


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
    problem = value_problem(data)
    if problem is not None:
        return [problem]
    if not _well_formed(data):
        problems = _too_many_bends(data)
        if problems:
            return problems
        errors = itertools.islice(_VALIDATOR.iter_errors(data), MAX_PROBLEMS)
        problems = [(json_path(e.absolute_path), _message(e))
                    for e in sorted(errors, key=lambda e: list(map(str, e.absolute_path)))]
        if problems:
            return problems
    return _check_references(data)


def _message(error) -> str:
    """jsonschema's message, with a long value in it shortened ("'aaaa...' is too long")."""
    message = error.message
    if len(message) > 120:
        shown = repr(error.instance)
        if len(shown) > 40 and shown in message:
            message = message.replace(shown, shown[:36] + "..." + shown[-1], 1)
    return message


def _check_references(data: dict) -> list[tuple[str, str]]:
    problems = []
    if data["root"] not in data["definitions"]:
        problems.append(("$.root", f"the root definition {data['root']!r} is not among the definitions"))
    seen: dict[str, str] = {}
    for dname, d in data["definitions"].items():
        ids = set()
        for i, node in enumerate(d["nodes"]):
            path = json_path(("definitions", dname, "nodes", i, "id"))
            if node["id"] in seen:
                problems.append((path, f"node id {node['id']!r} is used twice"))
            seen[node["id"]] = path
            ids.add(node["id"])
        for i, edge in enumerate(d["edges"]):
            path = json_path(("definitions", dname, "edges", i))
            if edge["id"] in seen:
                problems.append((path + ".id", f"id {edge['id']!r} is used twice"))
            seen[edge["id"]] = path
            for end in ("src", "dst"):
                if edge[end][0] not in ids:
                    problems.append((f"{path}.{end}[0]", f"node {edge[end][0]!r} is not in definition {dname!r}"))
    return problems + position_problems(data)


def position_problems(data: dict) -> list[tuple[str, str]]:
    """Canvas positions and edge bends must be finite (``NaN`` and ``Infinity`` parse, but place a
    block nowhere).

    Takes schema-valid data, or ``Project.to_dict()`` output when saving."""
    problems = []
    for dname, d in data["definitions"].items():
        for i, node in enumerate(d["nodes"]):
            for axis, value in enumerate(node.get("position", ())):
                if isinstance(value, float) and not math.isfinite(value):
                    problems.append((json_path(("definitions", dname, "nodes", i, "position", axis)),
                                     f"{value} is not a finite number"))
        for i, edge in enumerate(d["edges"]):
            for k, point in enumerate(edge.get("bends", ())):
                for axis, value in enumerate(point):
                    if isinstance(value, float) and not math.isfinite(value):
                        problems.append((json_path(("definitions", dname, "edges", i, "bends", k, axis)),
                                         f"{value} is not a finite number"))
    return problems


def _too_many_bends(data: dict) -> list[tuple[str, str]]:
    """An edge with far more bend points than the schema allows, found before jsonschema checks
    each of them (600,000 points take it 20 seconds).  Takes data that is not yet schema-valid."""
    definitions = data.get("definitions")
    for dname, d in definitions.items() if isinstance(definitions, dict) else ():
        edges = d.get("edges") if isinstance(d, dict) else None
        for i, edge in enumerate(edges if isinstance(edges, list) else ()):
            bends = edge.get("bends") if isinstance(edge, dict) else None
            if isinstance(bends, list) and len(bends) > MAX_BENDS:
                return [(json_path(("definitions", dname, "edges", i, "bends")),
                         f"an edge has {len(bends):,} bend points, more than the {MAX_BENDS} it may have")]
    return []
