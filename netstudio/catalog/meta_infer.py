"""Shape inference for the generated torch.nn blocks: run the module itself on the meta device.

The generated blocks (see ``torch_nn``) have no hand-written shape rule: their
rule is torch's own.  The module is built under ``torch.device("meta")`` and
its forward runs on allocation-free stand-ins (``TensorSpec.meta()``), so a
``Linear(16_000_000, 16_000_000)`` costs nothing here; its parameter shapes
are reported so that the memory budget can refuse it before anything real is
built.  Results, errors included, are cached per (block type, hyperparameters,
input specs) in a bounded LRU, so re-checking a graph after each edit is cheap.

A few modules cannot run on meta (no meta kernel, or a forward that reads
values: CTCLoss, say); those run once on zeros on the CPU instead, but only
when the module and its inputs are small (``SMALL_RUN`` elements), else the
block gets a ShapeError saying so.  Errors become one-sentence ``ShapeError``
messages naming the block (torch's own message, first line), never a
traceback.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import torch
from torch import nn

from .block_spec import ShapeError
from .tensor_spec import TensorSpec

# Modules plus inputs up to this many elements may run on the CPU when meta cannot decide.
SMALL_RUN = 1 << 22
CACHE_SIZE = 4096
_MESSAGE_LIMIT = 300


@dataclass(frozen=True, eq=False)
class Recipe:
    """What meta inference needs to know about one generated block type (hashed by identity)."""

    type_name: str
    make_module: Callable[[dict], nn.Module]
    param_names: tuple[str, ...]
    inputs: tuple[str, ...]                       # all input ports, required first
    optional: tuple[str, ...] = ()
    packed: tuple[tuple[str, tuple[str, ...]], ...] = ()
    forward_params: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ("out",)
    output_paths: tuple[tuple[int, ...], ...] = ((),)
    # (input index, dim when batch_first is false, dim when true, rank of the batched input): a
    # dimension that is cut to 1 for the run and restored in the ``shrink_outputs`` ports after it
    # (dim 0 of an unbatched input, one rank less).  Recurrent layers loop over time, and
    # CrossMapLRN2d over channels, one dispatch per step, and on meta a step takes about a
    # millisecond: a hostile (1_000_000_000, 1, 10) input must not mean hours of checking.  Their
    # shapes do not depend on that length.
    shrink: tuple[int, int, int, int] | None = None
    shrink_outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetaResult:
    outputs: dict[str, TensorSpec]
    parameters: dict[str, tuple[int, ...]]   # named_parameters, as param_shapes reports them
    buffers: dict[str, tuple[int, ...]]      # named_buffers (running statistics...), apart


def infer(recipe: Recipe, params: dict[str, Any], ins: list[TensorSpec | None]) -> MetaResult:
    """Output specs and parameter/buffer shapes of ``recipe``'s module; raises ShapeError."""
    key = json.dumps({k: params.get(k) for k in recipe.param_names}, sort_keys=True, default=repr)
    found = _run(recipe, key, tuple(ins))
    if isinstance(found, str):
        raise ShapeError(found)
    outputs, parameters, buffers = found
    return MetaResult(dict(outputs), dict(parameters), dict(buffers))


def clear_cache() -> None:
    _run.cache_clear()


@lru_cache(maxsize=CACHE_SIZE)
def _run(recipe: Recipe, params_json: str, ins: tuple[TensorSpec | None, ...]):
    """(outputs, parameters, buffers) as tuples of pairs, or an error sentence."""
    params = json.loads(params_json)
    name = recipe.type_name
    try:
        run_ins, restore = _shorten(recipe, params, ins)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = None
            try:
                with torch.device("meta"):
                    module = recipe.make_module(params).eval()
                    result = _call(recipe, module, params, [i.meta() if i is not None else None for i in run_ins])
            except ShapeError:
                raise
            except Exception as err:
                if not _needs_values(err):
                    raise
                module, result = _run_on_cpu(recipe, module, params, run_ins, err)
        outputs = _outputs(recipe, result, restore)
    except ShapeError as err:
        return str(err)
    except Exception as err:  # torch's own complaint, as one sentence
        return sentence(name, err)
    return (tuple(outputs.items()),
            tuple((k, tuple(v.shape)) for k, v in module.named_parameters()),
            tuple((k, tuple(v.shape)) for k, v in module.named_buffers()))


def _call(recipe: Recipe, module: nn.Module, params: dict, tensors: list) -> Any:
    by_port = dict(zip(recipe.inputs, tensors))
    optional = set(recipe.optional)
    args = []
    for port in recipe.inputs:
        if port in optional:
            continue
        if by_port.get(port) is None:
            raise ShapeError(f"{recipe.type_name}'s input {port!r} is not connected")
        args.append(by_port[port])
    kwargs: dict[str, Any] = {}
    packed_ports: set[str] = set()
    for keyword, ports in recipe.packed:
        packed_ports.update(ports)
        given = [by_port.get(p) for p in ports]
        if all(g is None for g in given):
            continue
        if any(g is None for g in given):
            raise ShapeError(f"{recipe.type_name} needs {' and '.join(ports)} connected together, or neither")
        kwargs[keyword] = tuple(given)
    for port in recipe.optional:
        if port not in packed_ports and by_port.get(port) is not None:
            kwargs[port] = by_port[port]
    for name in recipe.forward_params:
        kwargs[name] = params[name]
    return module(*args, **kwargs)


def _shorten(recipe: Recipe, params: dict, ins: tuple) -> tuple[list, Callable | None]:
    """Inputs with a long looped-over dimension cut to one step, and how to put the length back."""
    if recipe.shrink is None:
        return list(ins), None
    index, dim_seq, dim_batch_first, batched_rank = recipe.shrink
    x = ins[index] if index < len(ins) else None
    if x is None or len(x.shape) not in (batched_rank, batched_rank - 1):
        return list(ins), None
    dim = (dim_batch_first if params.get("batch_first") else dim_seq) if len(x.shape) == batched_rank else 0
    length = x.shape[dim]
    if length <= 1:
        return list(ins), None
    shape = list(x.shape)
    shape[dim] = 1
    short = list(ins)
    short[index] = TensorSpec(tuple(shape), x.dtype)

    def restore(port: str, spec: TensorSpec) -> TensorSpec:
        if port not in recipe.shrink_outputs or len(spec.shape) != len(shape):
            return spec
        out = list(spec.shape)
        out[dim] = length
        return TensorSpec(tuple(out), spec.dtype)
    return short, restore


def _needs_values(err: Exception) -> bool:
    """Whether the failure is meta's (no meta kernel, a forward reading values), not the input's."""
    return isinstance(err, NotImplementedError) or "meta" in str(err).lower()


def _run_on_cpu(recipe: Recipe, meta_module: nn.Module | None, params: dict, ins: list,
                meta_err: Exception) -> tuple[nn.Module, Any]:
    size = sum(i.numel for i in ins if i is not None)
    if meta_module is not None:
        size += sum(t.numel() for t in meta_module.parameters()) + sum(t.numel() for t in meta_module.buffers())
    if meta_module is None or size > SMALL_RUN:
        raise ShapeError(f"{recipe.type_name} cannot be checked without running it, and it is too large "
                         f"to run here ({first_line(meta_err)})")
    with torch.random.fork_rng(devices=[]), torch.device("cpu"):
        module = recipe.make_module(params).eval()
        zeros = [None if i is None else i.meta() if getattr(i, "value", None) is not None
                 else torch.zeros(i.shape, dtype=i.dtype) for i in ins]
        with torch.no_grad():
            return module, _call(recipe, module, params, zeros)


def _outputs(recipe: Recipe, result: Any, restore: Callable | None) -> dict[str, TensorSpec]:
    outputs: dict[str, TensorSpec] = {}
    for port, path in zip(recipe.outputs, recipe.output_paths):
        value = result
        for i in path:
            value = value[i]
        if value is None:
            continue   # e.g. MultiheadAttention's weights with need_weights=False
        if not isinstance(value, torch.Tensor):
            raise ShapeError(f"{recipe.type_name} returns {type(value).__name__} for {port!r}, not a tensor")
        spec = TensorSpec.of(value)
        outputs[port] = restore(port, spec) if restore else spec
    return outputs


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    if isinstance(err, KeyError) and len(err.args) == 1:
        text = f"unknown key {err.args[0]!r}"
    line = text.splitlines()[0].strip() if text else ""
    line = line.rstrip(" .")
    if len(line) > _MESSAGE_LIMIT:
        line = line[:_MESSAGE_LIMIT].rstrip() + "…"
    return line or f"{type(err).__name__} without a message"


def sentence(type_name: str, err: BaseException) -> str:
    """``LSTM: Expected input to be 2D or 3D, got 1D instead``: torch's message, first line."""
    line = first_line(err)
    for prefix in (f"{type_name}: ", f"{type_name.lower()}: "):   # "unflatten: Provided sizes..."
        if line.startswith(prefix):
            line = line[len(prefix):]
    return f"{type_name}: {line}"
