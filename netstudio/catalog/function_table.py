"""The functions a Function block may call: a fixed allow-list, looked up by a stable key.

A project file names a function only by its key (``"torch.flatten"``,
``"Tensor.view"``, ``"operator.getitem"``, ``"F.softmax"``); the key is looked
up in :data:`FUNCTIONS`, whose callables are taken here from the torch and
operator objects themselves.  Text from a file never reaches ``getattr``:
anything not in the table is an error.

Each entry says how the function is called: its parameters in order (for
keyword arguments and for where a text or a constant is required), whether
the generated forward calls it as a method (``x.view(n, -1)``) or an operator
(``a + b``, ``x[:, 0]``), and how many values it gives (``max`` along a dim
gives values and indices, ``chunk`` gives as many pieces as it is asked for).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch.nn import functional as F

# How many outputs a call gives: one, values and indices for max/min along a dim,
# ``chunks`` pieces for chunk, one per listed size for split.
ONE, MAX_WITH_DIM, CHUNKS, SECTIONS = "one", "max", "chunks", "sections"

# Operators written as Python syntax in the readable form: ``a + b``, ``-x``.
BINARY = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
          operator.floordiv: "//", operator.matmul: "@", operator.pow: "**", operator.mod: "%",
          operator.eq: "==", operator.ne: "!=", operator.lt: "<", operator.le: "<=",
          operator.gt: ">", operator.ge: ">="}
UNARY = {operator.neg: "-"}


@dataclass(frozen=True)
class FunctionEntry:
    """One function NetStudio can call."""

    key: str
    fn: object                        # the callable (for a method, the unbound torch.Tensor method)
    positional: tuple[str, ...]       # parameter names, in order
    keyword_only: tuple[str, ...] = ()
    varargs: str | None = None        # a *name parameter after the positional ones (x.view(*shape))
    strings: frozenset[str] = frozenset()     # parameters that may be text (dtype names are converted)
    constants: frozenset[str] = frozenset()   # parameters that must be written in the call, not ports
    outputs: str = ONE
    method: str | None = None         # called as ``x.<method>(...)``
    keywords: bool = True             # whether it takes keyword arguments at all (operator.* does not)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Every name a keyword argument may use."""
        return self.positional + self.keyword_only if self.keywords else ()

    def name_at(self, index: int) -> str | None:
        """The parameter a positional argument at ``index`` binds to (None past the end)."""
        if index < len(self.positional):
            return self.positional[index]
        return self.varargs


def _names(signature: str) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """``"input, dim, *, dtype"`` → (positional, keyword-only, varargs)."""
    positional: list[str] = []
    keyword_only: list[str] = []
    varargs = None
    seen_star = False
    for part in (p.strip() for p in signature.split(",") if p.strip()):
        if part == "*":
            seen_star = True
        elif part.startswith("*"):
            varargs, seen_star = part[1:], True
        elif seen_star:
            keyword_only.append(part)
        else:
            positional.append(part)
    return tuple(positional), tuple(keyword_only), varargs


def _entry(key: str, fn: object, signature: str, *, strings: str = "", constants: str = "",
           outputs: str = ONE, method: bool = False, keywords: bool = True) -> FunctionEntry:
    positional, keyword_only, varargs = _names(signature)
    return FunctionEntry(key, fn, positional, keyword_only, varargs,
                         frozenset(strings.split()), frozenset(constants.split()), outputs,
                         key.split(".", 1)[1] if method else None, keywords)


_T = torch.Tensor
_ENTRIES = [
    # -- shapes: torch functions and the Tensor methods people write -------------------------
    _entry("torch.reshape", torch.reshape, "input, shape"),
    _entry("torch.flatten", torch.flatten, "input, start_dim, end_dim"),
    _entry("torch.permute", torch.permute, "input, dims"),
    _entry("torch.transpose", torch.transpose, "input, dim0, dim1"),
    _entry("torch.squeeze", torch.squeeze, "input, dim"),
    _entry("torch.unsqueeze", torch.unsqueeze, "input, dim"),
    _entry("torch.chunk", torch.chunk, "input, chunks, dim", constants="chunks", outputs=CHUNKS),
    _entry("torch.split", torch.split, "tensor, split_size_or_sections, dim",
           constants="split_size_or_sections", outputs=SECTIONS),
    _entry("torch.cat", torch.cat, "tensors, dim"),
    _entry("torch.stack", torch.stack, "tensors, dim"),
    _entry("Tensor.view", _T.view, "self, *shape", method=True),
    _entry("Tensor.reshape", _T.reshape, "self, *shape", method=True),
    _entry("Tensor.flatten", _T.flatten, "self, start_dim, end_dim", method=True),
    _entry("Tensor.permute", _T.permute, "self, *dims", method=True),
    _entry("Tensor.transpose", _T.transpose, "self, dim0, dim1", method=True),
    _entry("Tensor.squeeze", _T.squeeze, "self, dim", method=True),
    _entry("Tensor.unsqueeze", _T.unsqueeze, "self, dim", method=True),
    _entry("Tensor.contiguous", _T.contiguous, "self", method=True),
    _entry("Tensor.chunk", _T.chunk, "self, chunks, dim", constants="chunks", outputs=CHUNKS, method=True),
    _entry("Tensor.split", _T.split, "self, split_size, dim", constants="split_size", outputs=SECTIONS,
           method=True),
    _entry("Tensor.expand", _T.expand, "self, *sizes", method=True),
    _entry("Tensor.expand_as", _T.expand_as, "self, other", method=True),
    _entry("Tensor.repeat", _T.repeat, "self, *sizes", method=True),
    _entry("Tensor.masked_fill", _T.masked_fill, "self, mask, value", method=True),
    _entry("Tensor.size", _T.size, "self, dim", method=True),
    _entry("Tensor.dim", _T.dim, "self", method=True),
    _entry("Tensor.to", _T.to, "self, dtype", strings="dtype", method=True),
    _entry("Tensor.type_as", _T.type_as, "self, other", method=True),
    _entry("Tensor.mean", _T.mean, "self, dim, keepdim, *, dtype", strings="dtype", method=True),
    _entry("Tensor.sum", _T.sum, "self, dim, keepdim, *, dtype", strings="dtype", method=True),
    _entry("Tensor.max", _T.max, "self, dim, keepdim, *, other", outputs=MAX_WITH_DIM, method=True),
    _entry("Tensor.softmax", _T.softmax, "self, dim, *, dtype", strings="dtype", method=True),
    # -- element-wise ---------------------------------------------------------------------------
    _entry("torch.add", torch.add, "input, other, *, alpha"),
    _entry("torch.sub", torch.sub, "input, other, *, alpha"),
    _entry("torch.mul", torch.mul, "input, other"),
    _entry("torch.div", torch.div, "input, other, *, rounding_mode", strings="rounding_mode"),
    _entry("torch.pow", torch.pow, "input, exponent"),
    _entry("torch.neg", torch.neg, "input"),
    _entry("torch.exp", torch.exp, "input"),
    _entry("torch.log", torch.log, "input"),
    _entry("torch.sqrt", torch.sqrt, "input"),
    _entry("torch.rsqrt", torch.rsqrt, "input"),
    _entry("torch.abs", torch.abs, "input"),
    _entry("torch.tanh", torch.tanh, "input"),
    _entry("torch.sigmoid", torch.sigmoid, "input"),
    _entry("torch.relu", torch.relu, "input"),
    _entry("torch.eq", torch.eq, "input, other"),
    _entry("torch.ne", torch.ne, "input, other"),
    _entry("torch.lt", torch.lt, "input, other"),
    _entry("torch.le", torch.le, "input, other"),
    _entry("torch.gt", torch.gt, "input, other"),
    _entry("torch.ge", torch.ge, "input, other"),
    _entry("torch.where", torch.where, "condition, input, other"),
    _entry("torch.masked_fill", torch.masked_fill, "input, mask, value"),
    # -- reductions -----------------------------------------------------------------------------
    _entry("torch.softmax", torch.softmax, "input, dim, *, dtype", strings="dtype"),
    _entry("torch.log_softmax", torch.log_softmax, "input, dim, *, dtype", strings="dtype"),
    _entry("torch.max", torch.max, "input, dim, keepdim, *, other", outputs=MAX_WITH_DIM),
    _entry("torch.min", torch.min, "input, dim, keepdim, *, other", outputs=MAX_WITH_DIM),
    _entry("torch.argmax", torch.argmax, "input, dim, keepdim"),
    _entry("torch.mean", torch.mean, "input, dim, keepdim, *, dtype", strings="dtype"),
    _entry("torch.sum", torch.sum, "input, dim, keepdim, *, dtype", strings="dtype"),
    # -- products -------------------------------------------------------------------------------
    _entry("torch.matmul", torch.matmul, "input, other"),
    _entry("torch.bmm", torch.bmm, "input, mat2"),
    _entry("torch.einsum", torch.einsum, "equation, *operands", strings="equation", constants="equation"),
    # -- new tensors ----------------------------------------------------------------------------
    _entry("torch.arange", torch.arange, "start, end, step, *, dtype, device", strings="dtype"),
    _entry("torch.ones_like", torch.ones_like, "input, *, dtype", strings="dtype"),
    _entry("torch.zeros_like", torch.zeros_like, "input, *, dtype", strings="dtype"),
    _entry("torch.full_like", torch.full_like, "input, fill_value, *, dtype", strings="dtype"),
    # -- torch.nn.functional --------------------------------------------------------------------
    _entry("F.relu", F.relu, "input"),
    _entry("F.gelu", F.gelu, "input, *, approximate", strings="approximate"),
    _entry("F.silu", F.silu, "input"),
    _entry("F.softmax", F.softmax, "input, dim, *, dtype", strings="dtype"),
    _entry("F.log_softmax", F.log_softmax, "input, dim, *, dtype", strings="dtype"),
    _entry("F.one_hot", F.one_hot, "tensor, num_classes", constants="num_classes"),
    _entry("F.scaled_dot_product_attention", F.scaled_dot_product_attention,
           "query, key, value, attn_mask, dropout_p, is_causal, scale, *, enable_gqa",
           constants="dropout_p is_causal enable_gqa"),
    _entry("F.dropout", F.dropout, "input, p, training", constants="p training"),
    _entry("F.layer_norm", F.layer_norm, "input, normalized_shape, weight, bias, eps",
           constants="normalized_shape eps"),
    # the functional forms of layers, as models call them in forward (torchvision's MobileNet, ResNet...)
    _entry("F.adaptive_avg_pool1d", F.adaptive_avg_pool1d, "input, output_size", constants="output_size"),
    _entry("F.adaptive_avg_pool2d", F.adaptive_avg_pool2d, "input, output_size", constants="output_size"),
    _entry("F.adaptive_max_pool2d", F.adaptive_max_pool2d, "input, output_size", constants="output_size"),
    _entry("F.avg_pool2d", F.avg_pool2d, "input, kernel_size, stride, padding, ceil_mode, count_include_pad",
           constants="kernel_size stride padding ceil_mode count_include_pad"),
    _entry("F.max_pool2d", F.max_pool2d, "input, kernel_size, stride, padding, dilation, ceil_mode",
           constants="kernel_size stride padding dilation ceil_mode"),
    _entry("F.interpolate", F.interpolate, "input, size, scale_factor, mode, align_corners",
           strings="mode", constants="size scale_factor mode align_corners"),
    _entry("F.pad", F.pad, "input, pad, mode, value", strings="mode", constants="pad mode value"),
    _entry("F.normalize", F.normalize, "input, p, dim, eps", constants="p dim eps"),
    _entry("F.sigmoid", F.sigmoid, "input"),
    _entry("F.tanh", F.tanh, "input"),
    _entry("F.relu6", F.relu6, "input"),
    _entry("F.hardtanh", F.hardtanh, "input, min_val, max_val", constants="min_val max_val"),
    _entry("F.hardswish", F.hardswish, "input"),
    _entry("F.hardsigmoid", F.hardsigmoid, "input"),
    _entry("F.leaky_relu", F.leaky_relu, "input, negative_slope", constants="negative_slope"),
    _entry("F.elu", F.elu, "input, alpha", constants="alpha"),
    # -- Python operators -----------------------------------------------------------------------
    *(_entry(f"operator.{fn.__name__}", fn, "a, b", keywords=False) for fn in BINARY),
    _entry("operator.neg", operator.neg, "a", keywords=False),
    _entry("operator.getitem", operator.getitem, "a, b", keywords=False),
]

FUNCTIONS: dict[str, FunctionEntry] = {e.key: e for e in _ENTRIES}
KEYS: tuple[str, ...] = tuple(FUNCTIONS)


def lookup(key: object) -> FunctionEntry | None:
    """The entry for ``key``, or None for anything that is not one of the table's keys."""
    return FUNCTIONS.get(key) if isinstance(key, str) else None
