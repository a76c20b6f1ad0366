"""An ONNX file read as data: every size bounded before it is allocated, no code run, no other file opened.

Only the ``onnx`` package's protobuf message class parses the file: no checker,
no shape inference, no external data (a tensor stored in another file names
that file itself, so it is refused rather than followed).  What the importer
needs is copied here into plain Python values; names stay data, used only as
keys among the file's own values and shown escaped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..graph.names import display_name
from ..limits import format_bytes, memory_budget
from .errors import ImportFailed

MAX_FILE_BYTES = (2 << 30) - 1   # protobuf's own limit for one message
MAX_NODES = 50_000               # a graph this large is no longer readable as blocks
MAX_VALUES_PER_NODE = 1024       # inputs, outputs and attributes of one node
MAX_RANK = 8                     # what NetStudio's shapes hold
MAX_TEXT = 4096                  # a string attribute (an einsum equation, a padding mode)
MIN_OPSET = 7

# TensorProto.DataType -> (torch dtype, numpy dtype of raw_data, the typed field holding the values)
_TYPES: dict[int, tuple[torch.dtype, str, str]] = {
    1: (torch.float32, "<f4", "float_data"),
    2: (torch.uint8, "u1", "int32_data"),
    3: (torch.int8, "i1", "int32_data"),
    5: (torch.int16, "<i2", "int32_data"),
    6: (torch.int32, "<i4", "int32_data"),
    7: (torch.int64, "<i8", "int64_data"),
    9: (torch.bool, "u1", "int32_data"),
    10: (torch.float16, "<f2", "int32_data"),     # typed values: the 16 bits in an int32
    11: (torch.float64, "<f8", "double_data"),
    16: (torch.bfloat16, "<u2", "int32_data"),    # typed values: the 16 bits in an int32
}
_TYPE_NAMES = {0: "UNDEFINED", 4: "UINT16", 8: "STRING", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
               15: "COMPLEX128"}


def onnx_dtype(code: int) -> torch.dtype:
    """The torch dtype of an ONNX element type; raises ImportFailed for the ones NetStudio cannot hold."""
    if code not in _TYPES:
        name = _TYPE_NAMES.get(code, f"number {code}" if not 17 <= code <= 28 else "a 2-, 4-, 6- or 8-bit number")
        raise ImportFailed(f"The ONNX file uses tensors of type {name}, which NetStudio cannot hold.")
    return _TYPES[code][0]


def shown(name: str, limit: int = 40) -> str:
    """A name from the file as a message may show it: quoted, shortened, control characters escaped."""
    text = display_name(str(name), limit)
    return repr(text) if all(ch.isprintable() for ch in str(name)) else f"'{text}'"


@dataclass(frozen=True)
class Graph:
    """What the importer reads of the main graph."""

    name: str
    opset: int
    inputs: list[tuple[str, torch.dtype, tuple[int | None, ...]]]   # name, dtype, dims (None: dynamic)
    outputs: list[str]
    nodes: list["Node"]
    initializers: dict[str, Any]                                     # name -> TensorProto, converted on use
    _tensors: dict[str, torch.Tensor] = field(default_factory=dict)

    def initializer(self, name: str) -> torch.Tensor:
        if name not in self._tensors:
            self._tensors[name] = tensor_value(self.initializers[name], f"initializer {shown(name)}")
        return self._tensors[name]


@dataclass
class Node:
    """One operator call: its type, its values' names, and its attributes as Python values."""

    op_type: str
    domain: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict[str, Any]

    def attr(self, name: str, kind: type | tuple, default: Any = None) -> Any:
        """The attribute ``name``, of ``kind`` (``(int,)``: a tuple of ints), else ``default``; raises ImportFailed."""
        if name not in self.attributes:
            return default
        value = self.attributes[name]
        if kind is float and type(value) is int:
            return float(value)
        if isinstance(kind, tuple):
            ok = isinstance(value, tuple) and all(type(v) is kind[0] or (kind[0] is float and type(v) is int)
                                                  for v in value)
        else:
            ok = type(value) is kind or (kind is torch.Tensor and isinstance(value, torch.Tensor))
        if not ok:
            raise ImportFailed(f"The ONNX node {shown(self.name)} ({shown(self.op_type)}) has an attribute "
                               f"{shown(name)} of the wrong kind.")
        return value


def read_onnx(path: str | os.PathLike) -> Graph:
    """The main graph of the ONNX file at ``path``; raises ImportFailed with one sentence."""
    file = Path(path)
    if not file.is_file():
        raise ImportFailed(f"There is no file {shown(str(path), 300)}.")
    try:
        from onnx import ModelProto
    except ImportError:
        raise ImportFailed("Importing an ONNX file needs the onnx package, which is not installed "
                           "(pip install onnx).") from None
    size = file.stat().st_size
    limit = min(MAX_FILE_BYTES, memory_budget())
    if size > limit:
        raise ImportFailed(f"{file.name} is {format_bytes(size)}, more than the {format_bytes(limit)} "
                           "an ONNX file may take.")
    data = file.read_bytes()
    model = ModelProto()
    try:
        model.ParseFromString(data)
    except Exception:   # DecodeError, or a nesting too deep: the bytes are not an ONNX model
        raise ImportFailed(f"{file.name} is not a valid ONNX file.") from None
    del data
    if not model.HasField("graph"):
        raise ImportFailed(f"{file.name} is not a valid ONNX file: it has no graph.")
    return _graph(model, file.name)


def _graph(model, file_name: str) -> Graph:
    opsets = {_s(entry.domain): entry.version for entry in model.opset_import}
    opset = opsets.get("", opsets.get("ai.onnx"))
    if opset is None:
        raise ImportFailed(f"{file_name} declares no version of the ONNX operators.")
    if opset < MIN_OPSET:
        raise ImportFailed(f"{file_name} uses ONNX operator set {opset}; NetStudio imports set {MIN_OPSET} and later.")
    g = model.graph
    if len(g.node) > MAX_NODES:
        raise ImportFailed(f"{file_name} has {len(g.node)} operators; NetStudio imports at most {MAX_NODES}.")
    initializers: dict[str, Any] = {}
    total = 0
    for t in g.initializer:
        total += _check_tensor(t, f"initializer {shown(_s(t.name))}")
        initializers[_s(t.name)] = t
    if g.sparse_initializer:
        raise ImportFailed(f"{file_name} holds sparse initializers, which NetStudio cannot import.")
    if total > memory_budget():
        raise ImportFailed(f"The weights of {file_name} would take {format_bytes(total)}, more than the memory "
                           f"budget of {format_bytes(memory_budget())}.")
    inputs = [_input(v) for v in g.input if _s(v.name) not in initializers]   # old files list weights as inputs
    if not inputs:
        raise ImportFailed(f"{file_name} has no input.")
    if len(inputs) > MAX_VALUES_PER_NODE or len(g.output) > MAX_VALUES_PER_NODE:
        raise ImportFailed(f"{file_name} has more than {MAX_VALUES_PER_NODE} inputs or outputs.")
    nodes = [_node(n) for n in g.node]
    return Graph(_s(g.name), int(opset), inputs, [_s(o.name) for o in g.output], nodes, initializers)


def _input(value) -> tuple[str, torch.dtype, tuple[int | None, ...]]:
    what = f"The ONNX input {shown(_s(value.name))}"
    if value.type.WhichOneof("value") != "tensor_type":
        raise ImportFailed(f"{what} is not a tensor.")
    t = value.type.tensor_type
    dtype = onnx_dtype(t.elem_type)
    if not t.HasField("shape"):
        raise ImportFailed(f"{what} has no declared shape; NetStudio needs at least its rank.")
    if len(t.shape.dim) > MAX_RANK:
        raise ImportFailed(f"{what} has {len(t.shape.dim)} dimensions; NetStudio holds at most {MAX_RANK}.")
    dims = tuple(int(d.dim_value) if d.WhichOneof("value") == "dim_value" and d.dim_value >= 0 else None
                 for d in t.shape.dim)
    return _s(value.name), dtype, dims


def _node(proto) -> Node:
    what = f"The ONNX node {shown(_s(proto.name))} ({shown(_s(proto.op_type))})"
    if max(len(proto.input), len(proto.output), len(proto.attribute)) > MAX_VALUES_PER_NODE:
        raise ImportFailed(f"{what} has more than {MAX_VALUES_PER_NODE} inputs, outputs or attributes.")
    attributes: dict[str, Any] = {}
    for a in proto.attribute:
        attributes[_s(a.name)] = _attribute(a, what)
    return Node(_s(proto.op_type), _s(proto.domain), _s(proto.name), tuple(_s(i) for i in proto.input),
                tuple(_s(o) for o in proto.output), attributes)


def _s(value: str | bytes) -> str:
    """A string field as text: protobuf hands over a field that is not valid UTF-8 as bytes."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


_GRAPH = object()   # a subgraph (If, Loop, Scan): kept as a marker, never read


def _attribute(a, what: str) -> Any:
    if a.ref_attr_name:
        raise ImportFailed(f"{what} refers to a function's attribute, which NetStudio cannot import.")
    kind = a.type or _guess_type(a)
    if kind == 1:
        return float(a.f)
    if kind == 2:
        return int(a.i)
    if kind == 3:
        return _text(a.s, what)
    if kind == 4:
        _check_tensor(a.t, f"the attribute {shown(_s(a.name))} of {what[4:]}")
        return tensor_value(a.t, f"the attribute {shown(_s(a.name))} of {what[4:]}")
    if kind == 6:
        return tuple(float(v) for v in a.floats)
    if kind == 7:
        return tuple(int(v) for v in a.ints)
    if kind == 8:
        return tuple(_text(s, what) for s in a.strings)
    if kind in (5, 10):
        return _GRAPH
    raise ImportFailed(f"{what} has an attribute {shown(_s(a.name))} of a kind NetStudio cannot read.")


def _guess_type(a) -> int:
    """Files written before attributes had a type: the field that is set."""
    for kind, present in ((1, a.HasField("f")), (2, a.HasField("i")), (3, a.HasField("s")), (4, a.HasField("t")),
                          (5, a.HasField("g")), (6, bool(a.floats)), (7, bool(a.ints)), (8, bool(a.strings))):
        if present:
            return kind
    return 0


def _text(raw: bytes, what: str) -> str:
    if len(raw) > MAX_TEXT:
        raise ImportFailed(f"{what} has a text attribute of {len(raw)} bytes; at most {MAX_TEXT} are read.")
    return raw.decode("utf-8", errors="replace")


def _check_tensor(t, what: str) -> int:
    """The bytes ``t`` will take once converted; raises ImportFailed before anything is allocated."""
    if t.data_location == 1 or t.external_data:
        raise ImportFailed(f"The ONNX {what} is stored in a separate file; NetStudio imports only "
                           "ONNX files that hold all their tensors (save the model without external data).")
    if t.HasField("segment"):
        raise ImportFailed(f"The ONNX {what} is split into segments, which NetStudio cannot import.")
    dtype = onnx_dtype(t.data_type)
    if len(t.dims) > MAX_RANK:
        raise ImportFailed(f"The ONNX {what} has {len(t.dims)} dimensions; NetStudio holds at most {MAX_RANK}.")
    if any(d < 0 for d in t.dims):
        raise ImportFailed(f"The ONNX {what} has a negative dimension.")
    count = 1
    for d in t.dims:
        count *= int(d)
    nbytes = count * torch.empty((), dtype=dtype).element_size()
    if nbytes > memory_budget():
        raise ImportFailed(f"The ONNX {what} of shape {tuple(t.dims)} would take {format_bytes(nbytes)}, more "
                           f"than the memory budget of {format_bytes(memory_budget())}.")
    return nbytes


def tensor_value(t, what: str) -> torch.Tensor:
    """A TensorProto's values as a CPU tensor (sizes already checked by ``_check_tensor``)."""
    _check_tensor(t, what)
    dtype, raw_type, typed = _TYPES[t.data_type]
    dims = tuple(int(d) for d in t.dims)
    count = int(np.prod(dims, dtype=np.int64)) if dims else 1
    if t.HasField("raw_data"):
        raw = t.raw_data
        itemsize = np.dtype(raw_type).itemsize
        if len(raw) != count * itemsize:
            raise ImportFailed(f"The ONNX {what} has {len(raw)} bytes of data for {count} values: the file is damaged.")
        array = np.frombuffer(raw, dtype=raw_type).copy()
    else:
        values = getattr(t, typed)
        if len(values) != count:
            raise ImportFailed(f"The ONNX {what} has {len(values)} values for the shape {dims}: the file is damaged.")
        array = np.asarray(values, dtype=np.int64 if typed in ("int32_data", "int64_data") else raw_type)
        if t.data_type in (10, 16):
            array = array.astype("<u2")
            array = array.view("<f2") if t.data_type == 10 else array
        elif typed == "int32_data":
            array = array.astype(raw_type)
    array = array.astype(array.dtype.newbyteorder("="), copy=False).reshape(dims)
    if t.data_type == 16:   # bfloat16: the 16 bits, reinterpreted
        return torch.from_numpy(array.astype(np.int16)).view(torch.bfloat16)
    if t.data_type == 9:
        return torch.from_numpy(array != 0)
    return torch.from_numpy(np.array(array, order="C"))   # (ascontiguousarray would make a scalar 1-d)
