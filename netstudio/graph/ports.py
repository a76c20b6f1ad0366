"""The input and output ports of a node, which for containers and code blocks
depend on the project (a definition's Input/Output nodes, a class's forward)."""

from __future__ import annotations

from ..catalog import get_block
from ..catalog.block_spec import Role
from ..catalog.code_block import CodeSyntaxError, forward_ports, optional_ports
from ..catalog.code_block import output_ports as code_output_ports
from .node import Node
from .project import Project


def input_ports(project: Project, node: Node) -> tuple[str, ...]:
    spec = get_block(node.type)
    if spec is not None and spec.role is Role.CODE:
        return _from_code(project, node, forward_ports, ("in",))
    return _ports(project, node, "inputs")


def output_ports(project: Project, node: Node) -> tuple[str, ...]:
    spec = get_block(node.type)
    if spec is not None and spec.role is Role.CODE:
        return _from_code(project, node, code_output_ports, ("out",))
    return _ports(project, node, "outputs")


def _from_code(project: Project, node: Node, read, fallback):
    """What ``read(source, class_name)`` finds in a code block's class; ``fallback`` when it does not parse
    (the checker reports why)."""
    class_name = node.text_param("class_name") or ""
    try:
        return read(project.code.get(class_name, ""), class_name)
    except CodeSyntaxError:
        return fallback


def _ports(project: Project, node: Node, side: str) -> tuple[str, ...]:
    """A container's ports are its definition's Input (or Output) names; other blocks declare theirs."""
    spec = get_block(node.type)
    if spec is None:
        return ()
    if spec.role is Role.CONTAINER:
        d = project.definitions.get(node.text_param("definition") or "")
        return tuple(n.name for n in getattr(d, side)) if d is not None else ()
    return spec.input_ports(node.params) if side == "inputs" else spec.output_ports(node.params)


def optional_input_ports(project: Project, node: Node) -> frozenset[str]:
    """Input ports that may stay unconnected (an LSTM's h0 and c0, an attention mask, a code block's
    ``state=None``)."""
    spec = get_block(node.type)
    if spec is None or spec.role is Role.CONTAINER:
        return frozenset()
    if spec.role is Role.CODE:
        return _from_code(project, node, optional_ports, frozenset())
    return frozenset(spec.optional_inputs)
