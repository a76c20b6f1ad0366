"""Tensor operations: arithmetic, products, concatenation, reductions, reshapes, constants.

These are what the seed's FixedHiddenMLP (``X @ rand_weight + 1``, ``X.sum()``)
and skip connections need.  All are stateless; Constant is a non-trainable
buffer, never a parameter.
"""

from __future__ import annotations

import operator

import torch
from torch import nn

from . import op_modules
from .block_spec import BlockSpec, Role, ShapeError
from .params import ParamSpec
from .shape_rules import axis, broadcast, need_float
from .tensor_spec import DTYPES, TensorSpec, format_shape

OPS = "Tensor operations"


def _binary(name: str):
    def infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
        a, b = ins
        return TensorSpec(broadcast(name, a, b), torch.promote_types(a.dtype, b.dtype))
    return infer


ADD = BlockSpec("Add", OPS, "a + b, element-wise with broadcasting (skip connections).", inputs=("a", "b"),
                function=lambda p: (operator.add, (), {}, False), infer=_binary("Add"), icon="mdi6.plus")
MULTIPLY = BlockSpec("Multiply", OPS, "a * b, element-wise with broadcasting.", inputs=("a", "b"),
                     function=lambda p: (operator.mul, (), {}, False), infer=_binary("Multiply"),
                     icon="mdi6.close")


def _matmul_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    a, b = ins
    sa, sb = a.shape, b.shape
    if not sa or not sb:
        raise ShapeError("MatMul needs inputs with at least one dimension each")
    if a.dtype != b.dtype:
        raise ShapeError(f"MatMul needs inputs of one dtype, receives {a.dtype_name} and {b.dtype_name}")
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        raise ShapeError(f"MatMul cannot multiply {format_shape(sa)} by {format_shape(sb)}: "
                         f"inner sizes {k_a} and {k_b} differ")
    if len(sa) == 1 and len(sb) == 1:
        return TensorSpec((), a.dtype)
    if len(sb) == 1:
        return TensorSpec(sa[:-1], a.dtype)
    if len(sa) == 1:
        return TensorSpec(sb[:-2] + sb[-1:], a.dtype)
    batch = broadcast("MatMul", TensorSpec(sa[:-2]), TensorSpec(sb[:-2]))
    return TensorSpec(batch + (sa[-2], sb[-1]), a.dtype)


MATMUL = BlockSpec("MatMul", OPS, "Matrix product a @ b (batched and broadcast like torch.matmul).",
                   inputs=("a", "b"), function=lambda p: (torch.matmul, (), {}, False), infer=_matmul_infer,
                   icon="mdi6.matrix")


def _concat_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    first = ins[0]
    rank = len(first.shape)
    if rank == 0:
        raise ShapeError("Concat cannot join scalars")
    d = axis(p["dim"], rank, "Concat")
    total = 0
    dtype = first.dtype
    for x in ins:
        if len(x.shape) != rank or any(x.shape[i] != first.shape[i] for i in range(rank) if i != d):
            raise ShapeError(f"Concat along dim {p['dim']} needs equal sizes elsewhere, receives "
                             + " and ".join(format_shape(i.shape) for i in ins))
        total += x.shape[d]
        dtype = torch.promote_types(dtype, x.dtype)
    return TensorSpec(first.shape[:d] + (total,) + first.shape[d + 1:], dtype)


CONCAT = BlockSpec(
    "Concat", OPS, "Joins its inputs along one dimension (torch.cat).",
    params=(ParamSpec("inputs", "int", 2, "how many tensors to join", minimum=2, maximum=16),
            ParamSpec("dim", "int", 1, "the dimension to join along", key=True)),
    # A bad count (from a hand-edited file) gives no ports; check() reports the value itself.
    inputs=lambda p: tuple(f"in{i}" for i in range(p["inputs"]))
    if isinstance(p["inputs"], int) and not isinstance(p["inputs"], bool) and 2 <= p["inputs"] <= 16 else (),
    function=lambda p: (torch.cat, (), {"dim": p["dim"]}, True), infer=_concat_infer, icon="mdi6.table-merge-cells")


def _scalar(name: str, fn, module, doc: str, icon: str) -> BlockSpec:
    def infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
        x = ins[0]
        dtype = torch.result_type(torch.empty((), dtype=x.dtype, device="meta"), p["value"])
        return TensorSpec(x.shape, dtype)
    return BlockSpec(
        name, OPS, doc, params=(ParamSpec("value", "float", 1.0, "the scalar", key=True),),
        make_module=lambda p: module(p["value"]), function=lambda p: (fn, (p["value"],), {}, False),
        infer=infer, icon=icon)


ADD_SCALAR = _scalar("AddScalar", operator.add, op_modules.AddScalar, "x + value.", "mdi6.plus-box-outline")
MUL_SCALAR = _scalar("MulScalar", operator.mul, op_modules.MulScalar, "x * value.", "mdi6.close-box-outline")


def _reduction(name: str, method: str, module, doc: str, icon: str) -> BlockSpec:
    def infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
        x = ins[0]
        if method == "mean":
            need_float(name, x)
        dtype = torch.int64 if (method == "sum" and not x.dtype.is_floating_point) else x.dtype
        if p["dim"] is None:
            return TensorSpec((), dtype)
        d = axis(p["dim"], len(x.shape), name)
        if not x.shape:
            return TensorSpec((), dtype)
        shape = x.shape[:d] + ((1,) if p["keepdim"] else ()) + x.shape[d + 1:]
        return TensorSpec(shape, dtype)

    def function(p: dict):
        fn = getattr(torch, method)
        return (fn, (), {} if p["dim"] is None else {"dim": p["dim"], "keepdim": p["keepdim"]}, False)

    return BlockSpec(
        name, OPS, doc,
        params=(ParamSpec("dim", "int", None, "the dimension to reduce; empty means all elements",
                          optional=True, key=True),
                ParamSpec("keepdim", "bool", False, "keep the reduced dimension with size 1")),
        make_module=lambda p: module(p["dim"], p["keepdim"]), function=function, infer=infer, icon=icon)


SUM = _reduction("Sum", "sum", op_modules.Sum, "Sum of the elements (along dim, or all).", "mdi6.sigma")
MEAN = _reduction("Mean", "mean", op_modules.Mean, "Mean of the elements (along dim, or all).", "mdi6.math-integral")


def _flatten_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    x = ins[0]
    rank = max(len(x.shape), 1)
    s, e = axis(p["start_dim"], rank, "Flatten"), axis(p["end_dim"], rank, "Flatten")
    if not x.shape:
        return TensorSpec((1,), x.dtype)
    if s > e:
        raise ShapeError(f"Flatten's start_dim {p['start_dim']} comes after its end_dim {p['end_dim']}")
    n = 1
    for size in x.shape[s:e + 1]:
        n *= size
    return TensorSpec(x.shape[:s] + (n,) + x.shape[e + 1:], x.dtype)


FLATTEN = BlockSpec(
    "Flatten", "Shape and resampling", "Flattens dimensions start_dim..end_dim into one (keeps the batch by default).",
    params=(ParamSpec("start_dim", "int", 1, "first dimension to flatten"),
            ParamSpec("end_dim", "int", -1, "last dimension to flatten")),
    make_module=lambda p: nn.Flatten(p["start_dim"], p["end_dim"]),
    function=lambda p: (torch.flatten, (), {"start_dim": p["start_dim"], "end_dim": p["end_dim"]}, False),
    infer=_flatten_infer, icon="mdi6.arrow-collapse-horizontal", module_class=nn.Flatten)

IDENTITY = BlockSpec("Identity", "Layers", "Passes its input through unchanged (a placeholder).",
                     make_module=lambda p: nn.Identity(), infer=lambda p, ins: ins[0], icon="mdi6.equal",
                     module_class=nn.Identity)

CONSTANT_FILLS = ("rand", "randn", "zeros", "ones", "values")


def _constant_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    if p["fill"] == "values":
        if p["values"] is None:
            raise ShapeError("Constant's fill is 'values' but no values are given")
        shape = tuple(torch.tensor(p["values"]).shape)
        if list(shape) != list(p["shape"]):
            raise ShapeError(f"Constant's values have shape {format_shape(shape)}, "
                             f"but its shape is {format_shape(p['shape'])}")
    dtype = DTYPES[p["dtype"]]
    if p["fill"] in ("rand", "randn") and not dtype.is_floating_point:
        raise ShapeError(f"Constant's fill {p['fill']!r} draws floating-point numbers, not {p['dtype']}")
    return TensorSpec(tuple(p["shape"]), dtype)


def constant_value(p: dict, generator: torch.Generator | None = None, meta: bool = False) -> torch.Tensor:
    """The tensor a Constant node holds; random fills draw from ``generator``.

    With ``meta`` only the shape is made, so a huge constant costs no memory.
    """
    shape, fill, dtype = tuple(p["shape"]), p["fill"], DTYPES[p["dtype"]]
    if meta:
        return torch.empty(shape, device="meta", dtype=dtype)
    if fill == "values":
        return torch.tensor(p["values"], dtype=dtype).reshape(shape)
    if fill in ("zeros", "ones"):
        return getattr(torch, fill)(shape, dtype=dtype)
    return getattr(torch, fill)(shape, generator=generator, dtype=dtype)


CONSTANT = BlockSpec(
    "Constant", OPS, "A fixed tensor (random or given values): a buffer that is never trained.",
    params=(ParamSpec("shape", "shape", [20, 20], "the tensor's shape", length=(0, 8), key=True),
            ParamSpec("fill", "choice", "rand", "U(0,1), N(0,1), zeros, ones, or the given values",
                      choices=CONSTANT_FILLS, key=True),
            ParamSpec("values", "values", None, "numbers for fill 'values' (nested lists)", optional=True),
            ParamSpec("persistent", "bool", False, "save it in state_dict (like register_buffer)"),
            ParamSpec("dtype", "choice", "float32", "its element type (random fills need a float)",
                      choices=tuple(DTYPES))),
    inputs=(), infer=_constant_infer, role=Role.CONSTANT, icon="mdi6.lock-outline")

BLOCKS = (ADD, MULTIPLY, MATMUL, CONCAT, ADD_SCALAR, MUL_SCALAR, SUM, MEAN, FLATTEN, IDENTITY, CONSTANT)
