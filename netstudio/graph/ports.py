"""The input and output ports of a node, which for containers and code blocks
depend on the project (a definition's Input/Output nodes, a class's forward)."""

from __future__ import annotations

from ..catalog import get_block
from ..catalog.block_spec import Role
from ..catalog.code_block import CodeSyntaxError, forward_ports
from .node import Node
from .project import Project


def input_ports(project: Project, node: Node) -> tuple[str, ...]:
    spec = get_block(node.type)
    if spec is None:
        return ()
    if spec.role is Role.CONTAINER:
        d = project.definitions.get(node.text_param("definition") or "")
        return tuple(n.name for n in d.inputs) if d is not None else ()
    if spec.role is Role.CODE:
        class_name = node.text_param("class_name") or ""
        source = project.code.get(class_name, "")
        try:
            return forward_ports(source, class_name)
        except CodeSyntaxError:
            return ("in",)
    return spec.input_ports(node.params)


def output_ports(project: Project, node: Node) -> tuple[str, ...]:
    spec = get_block(node.type)
    if spec is None:
        return ()
    if spec.role is Role.CONTAINER:
        d = project.definitions.get(node.text_param("definition") or "")
        return tuple(n.name for n in d.outputs) if d is not None else ()
    return spec.outputs
