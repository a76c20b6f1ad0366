"""Small shape helpers shared by the blocks' fast shape rules.

The rules compute in plain Python what torch's meta kernels would compute, in
microseconds instead of hundreds of microseconds; tests check every rule against
the meta device.
"""

from __future__ import annotations

import torch

from .block_spec import ShapeError
from .tensor_spec import TensorSpec, format_shape


def pair(value) -> tuple[int, int]:
    """``3`` or ``[3]`` or ``[3, 5]`` as a (h, w) pair."""
    if isinstance(value, int):
        return value, value
    value = list(value)
    return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])


def axis(dim: int, ndim: int, block: str) -> int:
    """A possibly negative dim as an index into a shape of ``ndim`` dims."""
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ShapeError(f"{block} has dim {dim}, but its input has only {ndim} dimensions")
    return dim % max(ndim, 1)


def need_rank(block: str, spec: TensorSpec, ranks: tuple[int, ...], layout: str) -> None:
    if len(spec.shape) not in ranks:
        raise ShapeError(f"{block} needs a {layout} input, receives shape {format_shape(spec.shape)}")


def need_float(block: str, spec: TensorSpec) -> None:
    if not spec.dtype.is_floating_point:
        raise ShapeError(f"{block} needs a floating-point input, receives {spec.dtype_name}")


def need_weight_dtype(block: str, spec: TensorSpec) -> None:
    """A layer's weights are created in the default dtype (float32); PyTorch does not cast the input
    to them, so a float64 or float16 input fails at the first forward.  Say so before that."""
    need_float(block, spec)
    weights = torch.get_default_dtype()
    if spec.dtype != weights:
        shown = TensorSpec((), weights).dtype_name
        raise ShapeError(f"{block}'s weights are {shown} but it receives {spec.dtype_name}; "
                         f"set the Input's dtype to {shown}")


def broadcast(block: str, a: TensorSpec, b: TensorSpec) -> tuple[int, ...]:
    out = []
    for x, y in zip(reversed(a.shape), reversed(b.shape)):
        if x != y and x != 1 and y != 1:
            raise ShapeError(f"{block} cannot broadcast shapes {format_shape(a.shape)} and {format_shape(b.shape)}")
        out.append(y if x == 1 else x)
    longer = a.shape if len(a.shape) > len(b.shape) else b.shape
    rest = longer[: len(longer) - len(out)]
    return tuple(rest) + tuple(reversed(out))


def conv_out(size: int, kernel: int, stride: int, padding: int, dilation: int = 1,
             ceil_mode: bool = False) -> int:
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return span // stride + 1
