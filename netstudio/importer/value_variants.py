"""Imported definitions that differ only in values become one definition with arguments.

GoogLeNet builds nine ``Inception`` blocks that differ only in channel counts;
identical ones already share a definition (``convert``), and this pass merges
the rest: the hyperparameters whose values differ become constructor arguments
(``graph/arguments.py``) and each use passes its own values, so the project has
one ``Inception`` and the export writes ``Inception(64, (96, 128), (16, 32), 32)``.

Arguments are named after the class's own ``__init__`` parameters where the
constructor record (``constructor_record``) shows that a differing value *is*
that parameter, or an item of it, at every use (``c1``, ``c2[0]``); otherwise
after the node and hyperparameter (``conv1_out_channels``).  Only hyperparameters
that may refer to arguments take part, and only of layers and of uses of other
blocks (their passed values); code blocks, tensors and anything else that
differs keep definitions apart.  Plain ``nn.Sequential`` definitions merge too
(exported as one ``make_...(...)`` function), since a class that differs only
in values often holds Sequentials that differ only in values (torchvision's
Inception branches).  The pass repeats until nothing merges, so blocks of
merged blocks merge next.
Binding the arguments gives back exactly the values they replaced, so the
network, its names and its outputs are unchanged.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Mapping

from ..catalog import get_block
from ..catalog.block_spec import Role
from ..graph.arguments import MAX_ARGUMENTS, argument_name_problem, may_use_arguments, reference
from ..graph.definition import Definition
from ..graph.names import NameKind, make_valid_name
from ..graph.project import Project


@dataclass
class _Slot:
    """One hyperparameter (or one passed argument, ``sub``) whose value differs between the variants."""

    index: int              # the node's place in each variant's node order
    key: str
    sub: str | None
    values: list[Any]       # one per variant


def merge_value_variants(project: Project, recorded: Mapping[str, dict[str, Any] | None]) -> int:
    """Merge the project's value variants in place; ``recorded`` maps a container node's id to the
    arguments its module was built with (None when unknown).  Returns how many definitions went."""
    removed = 0
    while True:
        groups: dict[str, list[str]] = defaultdict(list)
        for name, d in project.definitions.items():
            if name != project.root and not d.arguments:
                groups[_masked(d)].append(name)
        merged = [names for names in groups.values() if len(names) > 1 and _merge(project, names, recorded)]
        if not merged:
            return removed
        removed += sum(len(names) - 1 for names in merged)


def _eligible(spec, key: str) -> bool:
    return spec.role is Role.LAYER and may_use_arguments(spec, key)


def _masked(d: Definition) -> str:
    """The definition with every value that may become an argument left out."""
    ids = {node_id: f"#{i}" for i, node_id in enumerate(d.nodes)}
    nodes = []
    for n in d.nodes.values():
        spec = get_block(n.type)
        params: dict[str, Any] = dict(n.params)
        if spec is not None and spec.role is Role.CONTAINER:
            given = n.params.get("args")
            params["args"] = sorted(given) if isinstance(given, dict) else given
        elif spec is not None and spec.role is Role.LAYER:
            params = {k: "?" if _eligible(spec, k) else v for k, v in spec.resolve(n.params).items()}
        nodes.append([ids[n.id], n.type, n.name, params, n.init, ids.get(n.tied_to)])
    edges = sorted([ids.get(e.src), e.src_port, ids.get(e.dst), e.dst_port] for e in d.edges.values())
    return json.dumps([d.kind, d.class_name.rstrip("0123456789").removesuffix("_") or d.class_name,
                       nodes, edges], sort_keys=True, default=str)


def _slots(variants: list[Definition]) -> list[_Slot]:
    rows = [list(d.nodes.values()) for d in variants]
    found = []
    for i, node in enumerate(rows[0]):
        spec = get_block(node.type)
        if spec is None:
            continue
        if spec.role is Role.CONTAINER:
            given = [row[i].params.get("args") or {} for row in rows]
            for sub in sorted(given[0]):
                values = [g.get(sub) for g in given]
                if any(not _same(v, values[0]) for v in values):
                    found.append(_Slot(i, "args", sub, values))
        elif spec.role is Role.LAYER:
            resolved = [spec.resolve(row[i].params) for row in rows]
            for key in resolved[0]:
                values = [r[key] for r in resolved]
                if _eligible(spec, key) and any(not _same(v, values[0]) for v in values):
                    found.append(_Slot(i, key, None, values))
    return found


def _merge(project: Project, names: list[str], recorded: Mapping[str, dict[str, Any] | None]) -> bool:
    variants = [project.definitions[n] for n in names]
    slots = _slots(variants)
    if not slots:
        return False
    uses = [project.uses_of(n) for n in names]
    records = [[recorded.get(node_id) for _, node_id in u] for u in uses]
    base = variants[0]
    arguments: dict[str, Any] = {}
    passed: list[list[dict[str, Any]]] = [[{} for _ in u] for u in uses]   # per variant, per use
    refs = []
    for slot in slots:
        found = _recorded_argument(slot, records)
        if found is not None:
            name, item = found
            if name not in arguments:
                arguments[name] = copy.deepcopy(records[0][0][name])
                for j, variant_records in enumerate(records):
                    for k, record in enumerate(variant_records):
                        passed[j][k][name] = copy.deepcopy(record[name])
        else:
            node = list(base.nodes.values())[slot.index]
            name = make_valid_name(f"{node.name or 'item' + str(slot.index)}_{slot.sub or slot.key}", NameKind.PORT,
                                   set(arguments), fallback="value")
            item = None
            arguments[name] = copy.deepcopy(slot.values[0])
            for j, value in enumerate(slot.values):
                for k in range(len(uses[j])):
                    passed[j][k][name] = copy.deepcopy(value)
        refs.append(reference(name, item))
    if len(arguments) > MAX_ARGUMENTS:
        return False
    order = list(records[0][0] or {}) if records and records[0] else []   # the class's own __init__ order
    arguments = dict(sorted(arguments.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
    nodes = list(base.nodes.values())
    for slot, ref in zip(slots, refs):
        node = nodes[slot.index]
        if slot.sub is None:
            node.params[slot.key] = ref
        else:
            node.params["args"] = {**node.params.get("args", {}), slot.sub: ref}
    base.arguments = arguments
    for j, name in enumerate(names):
        for (parent, node_id), values in zip(uses[j], passed[j]):
            node = project.definitions[parent].nodes[node_id]
            node.params["definition"] = base.name
            node.params["args"] = values
        if j:
            del project.definitions[name]
    return True


def _recorded_argument(slot: _Slot, records: list[list[dict[str, Any] | None]]) -> tuple[str, int | None] | None:
    """The constructor parameter (and item) equal to the slot's value at every use, if there is one."""
    if not records or not records[0] or records[0][0] is None:
        return None
    for name, first in records[0][0].items():
        if argument_name_problem(name):
            continue
        items = [None] + (list(range(len(first))) if isinstance(first, list) else [])
        for item in items:
            if all(record is not None and name in record and _same(_at(record[name], item), value)
                   for variant_records, value in zip(records, slot.values) for record in variant_records):
                return name, item
    return None


def _same(a: Any, b: Any) -> bool:
    """Equal as stored: ``1`` and ``1.0`` or ``True`` differ, since a hyperparameter checks its type."""
    return json.dumps(a, sort_keys=True, default=repr) == json.dumps(b, sort_keys=True, default=repr)


def _at(value: Any, item: int | None) -> Any:
    if item is None:
        return value
    return value[item] if isinstance(value, list) and item < len(value) else _MISSING


_MISSING = object()
