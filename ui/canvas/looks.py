"""From the model to what a node shows: its title, subtitle, key hyperparameters,
ports, and the parameter count that the latest check inferred."""

from __future__ import annotations

from typing import Any

from netstudio.export.argument_source import value_source
from netstudio.graph.arguments import is_reference, references
from netstudio.analysis import CheckResult
from netstudio.catalog import ParamSpec, TensorSpec, format_shape, get_block
from netstudio.catalog.block_spec import Role
from netstudio.graph import Definition, Node, Project
from netstudio.graph.ports import input_ports, output_ports

from .node_item import NodeLook, NodeStatus

CONTAINER_TYPES = ("Block", "Sequential")


def chain_index(d: Definition) -> dict[str, int]:
    return {n.id: i for i, n in enumerate(d.chain() or ())} if d.kind == "sequential" else {}


def display_name(d: Definition, node: Node, chain: dict[str, int]) -> str:
    if node.name:
        return node.name
    if d.kind == "sequential" and node.id in chain:
        return str(chain[node.id])
    return ""


def format_param(spec: ParamSpec, value: Any) -> str:
    if value is None:
        if spec.kind == "shape":
            return "from caller"
        if "deferred" in spec.doc:
            return "deferred"
        return "all" if "all" in spec.doc else "default"
    if spec.kind == "shape" and isinstance(value, (list, tuple)):
        return format_shape(value)
    if spec.kind == "ints" and isinstance(value, (list, tuple)):
        return "×".join(value_source(v) if is_reference(v) else str(v) for v in value)
    if next(references(value), None) is not None:
        return value_source(value)   # taken from the block's arguments: c1, c2[0]
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def shape_text(spec: TensorSpec | None) -> str:
    if spec is None:
        return "?"
    text = format_shape(spec.shape)
    return text if spec.dtype_name == "float32" else f"{text} {spec.dtype_name}"


def node_look(project: Project, d: Definition, node: Node, chain: dict[str, int]) -> NodeLook:
    spec = get_block(node.type)
    title = display_name(d, node, chain)
    if spec is None:
        return NodeLook(node.type, title or node.type.lower(), f"{node.type} (unknown block)", "", "mdi6.help-box",
                        inputs=(), outputs=(), untitled=not title)
    params: list[tuple[str, str]] = []
    for p in spec.params:
        if p.key and p.name not in ("definition", "class_name"):
            params.append((p.name, format_param(p, node.params.get(p.name, p.default))))
    disabled = False
    if spec.role is Role.CONTAINER:
        subtitle = f"{node.type} · {node.params.get('definition', '?')}"
    elif spec.role is Role.CODE:
        subtitle = f"Code · {node.params.get('class_name', '?')}"
        disabled = not project.trusted
        if disabled:
            subtitle += " (disabled)"
    else:
        subtitle = node.type
    has_stats = spec.param_shapes is not None or spec.role in (Role.CONTAINER, Role.CODE)
    expandable = spec.role is Role.CONTAINER and node.params.get("definition") in project.definitions
    return NodeLook(node.type, title or "unnamed", subtitle, spec.category, spec.icon, tuple(params),
                    tuple(input_ports(project, node)), tuple(output_ports(project, node)), has_stats,
                    untitled=not title, disabled=disabled, description=spec.description, expandable=expandable)


def node_status(project: Project, d: Definition, node: Node, result: CheckResult, path: tuple[str, ...],
                diags, deferred_now: bool) -> NodeStatus:
    """The badge (worst of ``diags``), its messages (errors first) and the parameter count."""
    severity = None
    if diags:
        severity = "error" if any(x.is_error for x in diags) else "warning"
    messages = tuple(dict.fromkeys(x.message for x in sorted(diags, key=lambda x: not x.is_error)))
    return NodeStatus(stats_text(project, d, node, result, path, deferred_now), severity, messages)


def stats_text(project: Project, d: Definition, node: Node, result: CheckResult | None,
               path: tuple[str, ...], deferred_now: bool = True) -> str:
    """``5,376 params``, ``deferred · 5,376 params``, ``5,376 params · shared``, or ``? params``.

    ``deferred_now`` is false once the live network has run its first forward:
    lazy layers then have their parameters and are no longer shown as deferred.
    """
    spec = get_block(node.type)
    if spec is None or result is None or not (spec.param_shapes is not None or spec.role in (Role.CONTAINER, Role.CODE)):
        return ""
    if spec.role is Role.CONTAINER:
        total, known = _container_total(project, node, result, path + (node.id,), 0)
        return f"{total:,} params" if known else "? params"
    info = result.info(node.id, path)
    deferred = spec.deferred(node.params) and deferred_now
    if info is None:
        return "deferred" if deferred else "? params"
    count = f"{info.param_count:,} params" if (info.params or spec.role is not Role.CODE) else "no parameters"
    if node.tied_to:
        return f"{count} · shared"
    if deferred:
        return f"deferred · {count}"
    return count


def _container_total(project: Project, node: Node, result: CheckResult, path: tuple[str, ...],
                     depth: int) -> tuple[int, bool]:
    d = project.definitions.get(node.params.get("definition", ""))
    if d is None or depth > 32:
        return 0, False
    total, known = 0, True
    for child in d.nodes.values():
        spec = get_block(child.type)
        if spec is None or child.tied_to:
            continue
        if spec.role is Role.CONTAINER:
            sub, ok = _container_total(project, child, result, path + (child.id,), depth + 1)
            total, known = total + sub, known and ok
        elif spec.param_shapes is not None or spec.role is Role.CODE:
            info = result.info(child.id, path)
            if info is None:
                known = False
            else:
                total += info.param_count
    return total, known
