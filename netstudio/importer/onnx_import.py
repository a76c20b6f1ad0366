"""``netstudio import model.onnx``: an ONNX file as a project, as Netron opens one, running nothing from it.

The file is read with every size bounded (:mod:`.onnx_file`), multi-operator
patterns are fused (:mod:`.onnx_patterns`), each operator is looked up in the
table (:mod:`.onnx_ops`) and rebuilt as torch.nn modules and allow-listed torch
calls in a torch.fx GraphModule (:mod:`.onnx_build`).  ``from_module`` imports
that like any model: blocks, the file's weights, and the check that the project
computes exactly what the GraphModule does (``netstudio.importer.import_source``).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import fx

from ..catalog import DTYPES
from ..graph.names import MAX_NAME_LENGTH, NameKind, make_valid_name
from ..limits import format_bytes, memory_budget
from .errors import ImportFailed
from .onnx_build import Builder, Const, Tensor
from .onnx_file import Graph, Node, read_onnx, shown
from .onnx_ops import check_supported, converter
from .onnx_patterns import fuse, live_nodes


def is_onnx(source: str) -> bool:
    return str(source).lower().endswith(".onnx")


def onnx_module(source: str, shapes=(), dtype: str = "float32") -> tuple[fx.GraphModule, tuple[torch.Tensor, ...], str]:
    """The ONNX file as a GraphModule, with example inputs of its input shapes, and a name for it."""
    graph = read_onnx(source)
    nodes = live_nodes(graph, fuse(graph, graph.nodes))
    check_supported(nodes)
    inputs = example_inputs(graph, shapes, dtype)
    name = make_valid_name(Path(source).stem[:MAX_NAME_LENGTH], NameKind.CLASS, fallback="OnnxModel")
    return build(graph, nodes, inputs, name), inputs, name


def example_inputs(graph: Graph, shapes, dtype: str) -> tuple[torch.Tensor, ...]:
    """Inputs of the graph's shapes (``shapes`` fill in dynamic ones): seeded normal numbers, or zeros for
    integer inputs (valid indices)."""
    if dtype not in DTYPES:
        raise ImportFailed(f"The input dtype must be one of {', '.join(DTYPES)}, not {dtype!r}.")
    shapes = [tuple(int(d) for d in s) for s in shapes or ()]
    if shapes and len(shapes) != len(graph.inputs):
        takes, given = len(graph.inputs), len(shapes)
        raise ImportFailed(f"The ONNX model takes {takes} input{'s' if takes != 1 else ''}, but {given} "
                           f"shape{'s were' if given != 1 else ' was'} given.")
    if not shapes and any(None in dims for _, _, dims in graph.inputs):
        example = ";".join(",".join(str(d or 1) for d in dims) for _, _, dims in graph.inputs)
        name, _, dims = next(i for i in graph.inputs if None in i[2])
        raise ImportFailed(f"The ONNX input {shown(name)} has dynamic dimensions {_dims(dims)}: give the input "
                           f"shapes with --input, such as --input {example}.")
    generator = torch.Generator().manual_seed(0)
    out = []
    for i, (name, kind, dims) in enumerate(graph.inputs):
        if kind not in DTYPES.values():
            raise ImportFailed(f"The ONNX input {shown(name)} is {kind}, which NetStudio cannot hold.")
        if dtype != "float32" and DTYPES[dtype] != kind:
            raise ImportFailed(f"The ONNX input {shown(name)} is {kind}, not the {dtype} asked for.")
        shape = shapes[i] if shapes else dims
        if len(shape) != len(dims) or any(d is not None and d != s for d, s in zip(dims, shape)):
            raise ImportFailed(f"The ONNX input {shown(name)} is {_dims(dims)}, which the shape {tuple(shape)} "
                               "does not fit.")
        nbytes = math.prod(shape) * torch.empty((), dtype=kind).element_size()
        if nbytes > memory_budget():
            raise ImportFailed(f"The ONNX input {shown(name)} of shape {tuple(shape)} would take "
                               f"{format_bytes(nbytes)}, more than the memory budget of "
                               f"{format_bytes(memory_budget())}.")
        out.append(torch.randn(shape, generator=generator).to(kind) if kind.is_floating_point
                   else torch.zeros(shape, dtype=kind))
    return tuple(out)


def _dims(dims) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def build(graph: Graph, nodes: list[Node], inputs: tuple[torch.Tensor, ...], class_name: str) -> fx.GraphModule:
    """The GraphModule computing ``nodes`` (already checked to be supported)."""
    b = Builder(graph.opset)
    ports: set[str] = set()
    for (name, _, _), example in zip(graph.inputs, inputs):
        if name in b.values:
            raise ImportFailed(f"The ONNX graph declares its input {shown(name)} twice.")
        port = make_valid_name(name[:MAX_NAME_LENGTH], NameKind.PORT, ports, fallback="x")
        ports.add(port)
        b.values[name] = Tensor(b.graph.placeholder(port), example.to("meta"))
    used = {i for n in nodes for i in n.inputs} | set(graph.outputs)
    for name in graph.initializers:
        if name in used and name not in b.values:
            value = graph.initializer(name)
            b.values[name] = Const(value, name, trainable=value.dtype == torch.float32)
    dropped: set[str] = set()
    for node in nodes:
        b.node = node
        for name in node.inputs:
            if name and name not in b.values:
                b.fail(f"uses {shown(name)}, which NetStudio does not compute" if name in dropped
                       else f"uses {shown(name)}, which no earlier node computes")
        try:
            outs = converter(node)(b, node)
        except ImportFailed:
            raise
        except Exception as err:   # a value no check above foresaw: still one sentence
            b.fail(f"cannot be imported ({type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''})")
        for i, name in enumerate(node.outputs):
            if not name:
                continue
            if name in b.values or name in dropped:
                b.fail(f"computes {shown(name)} a second time")
            value = outs[i] if i < len(outs) else None
            if value is None:
                dropped.add(name)
            else:
                b.values[name] = value
    b.node = None
    if not graph.outputs:
        raise ImportFailed("The ONNX graph has no output.")
    missing = [name for name in graph.outputs if name not in b.values]
    if missing:
        raise ImportFailed(f"The ONNX graph's output {shown(missing[0])} is computed by no node NetStudio imports.")
    return b.finish([b.values[name] for name in graph.outputs], class_name)
