"""Every public torch.nn module class as a block, generated from the class itself.

The hand-written blocks (``layers``, ``activations``, ``tensor_ops``) win:
a class already in the catalog under its name is not generated again.  For
every other public class of ``torch.nn.modules``:

* hyperparameters come from ``inspect.signature(cls.__init__)``: bool, int and
  float from the default or the annotation; ``_size_*_t`` and tuples become
  ``ints`` lists (where torch takes an int too, a bare int is accepted and a
  one-entry list is passed as that int, which torch repeats for every
  dimension; other lists become tuples); ``_ratio_*_t`` becomes one float;
  ``Optional[...]`` with a None default is optional; enum-like strings are
  choices (``torch_nn_tables.CHOICES``); tensors, modules, callables,
  ``device``/``dtype`` and the deprecated ``size_average``/``reduce`` are
  left out.  Required arguments get small palette defaults
  (``torch_nn_tables.REQUIRED``); the other tables about torch.nn classes sit
  in :mod:`.torch_nn_tables` too.
* ports come from ``forward``: positional arguments without a default are
  required inputs (a sole one called ``input`` or ``x`` is the port ``in``, as
  on the hand-written blocks; ``input_``/``target_`` lose the underscore),
  tensor arguments defaulting to None are optional inputs passed by keyword,
  bool/int/float arguments with a default are ``forward_params``.
* shapes come from running the module on the meta device (``meta_infer``).

Left out on purpose (``skipped()`` says why for each class): containers, base
classes, the Lazy* variants, a deprecated alias and a class that needs a
process group.  TransformerEncoder and TransformerDecoder take a layer module:
they get a hand-made builder from the layer's own settings plus ``num_layers``
and ``norm`` (a bool: a final LayerNorm over d_model).  Conv ``padding`` is
numbers only (no 'same'/'valid' strings).  ``return_indices`` (MaxPool*,
AdaptiveMaxPool*, FractionalMaxPool*) and ``inplace`` are fixed False: the
first would turn the single output into a tuple, the second would let a block
overwrite a tensor another block still reads.  Bilinear is hand-written
(``layers``): torch's meta kernel loops over its output features.
"""

from __future__ import annotations

import collections.abc
import inspect
import re
import types
import typing

import torch
from torch import nn
from torch.nn import functional as F

from . import meta_infer
from . import torch_nn_tables as tables
from .block_spec import BlockSpec
from .params import MAX_FEATURES, ParamSpec

_NONE = type(None)


def _category(name: str) -> str:
    if name.endswith("Loss"):
        return tables.LOSSES
    if name in ("CosineSimilarity", "PairwiseDistance"):
        return tables.DISTANCES
    if "Pad" in name:
        return tables.PADDING
    if "Dropout" in name:
        return tables.DROPOUT
    if name.startswith(("Conv", "LazyConv")):
        return tables.CONVOLUTION
    if "pool" in name.lower():
        return tables.POOLING
    if "Norm" in name or name == "CrossMapLRN2d":
        return tables.NORMALIZATION
    if name in ("RNN", "LSTM", "GRU") or name.endswith("Cell"):
        return tables.RECURRENT
    if name == "MultiheadAttention" or name.startswith("Transformer"):
        return tables.ATTENTION
    if name.startswith("Embedding"):
        return tables.EMBEDDING
    if name.startswith(("Upsampl", "Pixel", "Channel", "Unflatten", "Flatten", "Fold", "Unfold")):
        return tables.SHAPE
    if name in ("Identity", "Linear", "Bilinear"):
        return tables.LAYERS
    return tables.ACTIVATIONS


# -- docstrings ------------------------------------------------------------------------
_REST = [
    (re.compile(r":(?:math|attr|class|func|meth|mod|ref|doc|obj|data):`~?(?:[\w.]+\.)?([^`<]*?)(?:\s*<[^>]*>)?`"), r"\1"),
    (re.compile(r"``([^`]*)``"), r"\1"),
    (re.compile(r"`([^`]*)`_?"), r"\1"),
    (re.compile(r"\\(?:text|mathrm|operatorname)\{([^}]*)\}"), r"\1"),
    (re.compile(r"\\(?:left|right)"), ""),
    (re.compile(r"\\([a-zA-Z]+)"), r"\1"),
    (re.compile(r"[{}\\]"), ""),
    (re.compile(r"\s+"), " "),
]


def clean_rest(text: str) -> str:
    if any(c in text for c in "`:\\{"):
        for pattern, repl in _REST:
            text = pattern.sub(repl, text)
    else:
        text = " ".join(text.split())
    return text.strip()


def _first_sentence(text: str, limit: int = 200) -> str:
    m = _SENTENCE_END.search(text)
    text = clean_rest(text[:m.start()] if m else text).rstrip(".:; ").strip()
    if len(text) > limit:
        text = text[:text.rfind(" ", 0, limit - 3)].rstrip(",;: ") + ".."
    return text + "." if text else ""


# A full stop ends a sentence, except in "e.g.", "i.e.", "w.r.t." and after a single letter ("i. e.").
_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!w\.r\.t)(?<!\bvs)(?<!\b[A-Za-z])\.(\s|$)")
_ARGS_HEADER = re.compile(r"^([ \t]*)(?:Args|Arguments|Parameters):[ \t]*$", re.MULTILINE)


def _docs(cls: type) -> tuple[str, dict[str, str]]:
    """The class's first sentence, and the raw text of each argument in its Args: section
    (``_arg_doc`` turns one into a short description; only the arguments kept need it)."""
    doc = cls.__doc__ or ""
    summary = ""
    for paragraph in re.split(r"\n[ \t]*\n", doc.strip()):
        if paragraph.strip() and not re.match(r"\s*(__init__|\w+\()", paragraph):
            summary = paragraph
            break
    args: dict[str, str] = {}
    header = _ARGS_HEADER.search(doc)
    if header is not None:
        indent = len(header.group(1).expandtabs())
        current = None
        for line in doc[header.end():].splitlines()[1:]:
            stripped = line.strip()
            if not stripped:
                continue
            depth = len(line) - len(line.lstrip())
            if depth <= indent:
                break
            m = _ARG_ENTRY.match(stripped) if depth <= indent + 4 else None
            if m:
                current = m.group(1)
                args[current] = m.group(2)
            elif current:
                args[current] += " " + stripped
    return _first_sentence(summary), args


_ARG_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _arg_doc(raw: str) -> str:
    text = raw.split("Default:")[0].split("Default :")[0]
    doc = _first_sentence(text, 120)
    return doc[:-1] if doc.endswith(".") and not doc.endswith("...") else doc


# -- hyperparameters -------------------------------------------------------------------
class _Arg:
    """One constructor argument as a hyperparameter, and how to hand its value to torch."""

    __slots__ = ("name", "spec", "takes_int", "as_tuple")

    def __init__(self, name: str, spec: ParamSpec, takes_int: bool = False, as_tuple: bool = True):
        self.name, self.spec, self.takes_int, self.as_tuple = name, spec, takes_int, as_tuple

    def convert(self, value):
        if self.spec.kind == "ints" and isinstance(value, (list, tuple)):
            if self.takes_int and len(value) == 1:
                return value[0]
            return tuple(value) if self.as_tuple else list(value)
        return value


def _flatten_types(annotation) -> list:
    if annotation is inspect.Parameter.empty or isinstance(annotation, str):
        return []
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return [t for a in typing.get_args(annotation) for t in _flatten_types(a)]
    return [annotation]


def _is_sequence(t) -> bool:
    origin = typing.get_origin(t) or t
    return origin in (tuple, list, collections.abc.Sequence, torch.Size)


def _sequence_info(t) -> tuple[type, int | None]:
    """(element type, fixed length or None) of tuple[int, int], tuple[int, ...], list[int]..."""
    if t is torch.Size:
        return int, None
    args = [a for a in typing.get_args(t) if a is not Ellipsis]
    elem = float if any(float in _flatten_types(a) for a in args) else int
    fixed = None if Ellipsis in typing.get_args(t) or typing.get_origin(t) is not tuple else len(args)
    return elem, fixed


def _dims(cls_name: str) -> int | None:
    m = re.search(r"(\d)d$", cls_name)
    return int(m.group(1)) if m else None


def _param(cls_name: str, p: inspect.Parameter, doc: str) -> _Arg | None:
    """The hyperparameter for one constructor argument, or None to leave it out."""
    name = p.name
    if name.startswith("_") or name in tables.SKIP_ARGS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
        return None
    required = p.default is inspect.Parameter.empty
    default = tables.CLASS_DEFAULTS.get(cls_name, {}).get(name, tables.REQUIRED.get(name) if required else p.default)
    if required and name not in tables.REQUIRED and name not in tables.CLASS_DEFAULTS.get(cls_name, {}):
        raise LookupError(f"{cls_name}: no palette default for required argument {name!r}")
    optional = p.default is None
    found = _flatten_types(p.annotation)
    if any(t is _NONE for t in found):
        optional = optional or p.default is None
    found = [t for t in found if t is not _NONE]
    key = required or name in tables.KEY_NAMES
    doc = _arg_doc(doc) if doc else ""
    doc = doc or name.replace("_", " ")
    lo, hi = tables.CLASS_RANGES.get((cls_name, name), tables.RANGES.get(name, (None, None)))
    if name == "p" and _category(cls_name) == tables.DROPOUT:
        lo, hi = 0.0, 1.0
    if name in tables.SIZES:
        lo, hi = 1, MAX_FEATURES
    elif name in tables.COUNTS:
        lo, hi = 1, tables.MAX_LAYERS

    choices = tables.CLASS_CHOICES.get((cls_name, name)) or tables.CHOICES.get(name)
    if choices:
        if callable(default):   # Transformer's activation defaults to F.relu
            default = {F.relu: "relu", F.gelu: "gelu"}.get(default, choices[0])
        return _Arg(name, ParamSpec(name, "choice", default, doc, choices=choices, key=key))
    if any(t is torch.Tensor or t is typing.Any or (inspect.isclass(t) and issubclass(t, nn.Module))
           or typing.get_origin(t) is collections.abc.Callable for t in found):
        return None
    literals = [t for t in found if typing.get_origin(t) is typing.Literal]
    if literals:
        values = tuple(v for t in literals for v in typing.get_args(t))
        return _Arg(name, ParamSpec(name, "choice", default, doc, choices=values, key=key))
    sequences = [t for t in found if _is_sequence(t)]
    plain = {t for t in found if t in (bool, int, float, str)}
    if not found:   # unannotated: the default's type
        if default is None:
            if name not in tables.UNTYPED_NONE:
                return None
            plain = {int}
        else:
            plain = {type(default)} if not isinstance(default, (tuple, list)) else set()
            sequences = [tuple[int, ...]] if isinstance(default, (tuple, list)) else []
    if sequences:
        elem, fixed = _sequence_info(sequences[0])
        if elem is float:   # ratios: one float for every dimension
            return _Arg(name, ParamSpec(name, "float", default, doc, minimum=lo, maximum=hi,
                                        optional=optional, key=key))
        longest = fixed or _dims(cls_name) or 3
        length = tables.CLASS_LENGTHS.get((cls_name, name), (1, longest))
        if isinstance(default, int) and not isinstance(default, bool):
            default = [default] * (1 if int in plain else longest)
        elif isinstance(default, (tuple, list)):
            default = list(default)
        minimum = 0 if "padding" in name else (lo if lo is not None else 1)
        return _Arg(name, ParamSpec(name, "ints", default, doc, minimum=minimum, optional=optional,
                                    length=length, key=key, accepts_int=int in plain),
                    takes_int=int in plain, as_tuple=name not in ("cutoffs",))
    if bool in plain and not plain - {bool}:
        return _Arg(name, ParamSpec(name, "bool", default, doc, optional=optional, key=key))
    if float in plain:
        default = float(default) if isinstance(default, int) and not isinstance(default, bool) else default
        return _Arg(name, ParamSpec(name, "float", default, doc, minimum=lo, maximum=hi, optional=optional, key=key))
    if int in plain:
        return _Arg(name, ParamSpec(name, "int", default, doc, minimum=lo, maximum=hi, optional=optional, key=key))
    if str in plain:
        return _Arg(name, ParamSpec(name, "str", default, doc, optional=optional, key=key))
    return None


def _constructor_args(cls: type, docs: dict[str, str]) -> list[_Arg]:
    name = cls.__name__
    if name in tables.RNN_EXTRA:
        base = list(inspect.signature(nn.RNNBase.__init__).parameters.values())[1:]
        wanted = [p for p in base
                  if p.name != "mode" and (p.name != "proj_size" or "proj_size" in tables.RNN_EXTRA[name])]
        if "nonlinearity" in tables.RNN_EXTRA[name]:
            wanted.append(inspect.Parameter("nonlinearity", inspect.Parameter.KEYWORD_ONLY, default="tanh",
                                            annotation=str))
        params = wanted
    else:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    args = [_param(name, p, docs.get(p.name, "")) for p in params]
    return [a for a in args if a is not None]


# -- ports -----------------------------------------------------------------------------
def _mentions_tensor(annotation) -> bool:
    return annotation is inspect.Parameter.empty or any(t is torch.Tensor for t in _flatten_types(annotation))


def _forward(cls: type, constructor: set[str], docs: dict[str, str]):
    """(required ports, optional ports, forward parameters as _Args) from forward's signature."""
    required, optional, fparams = [], [], []
    for p in list(inspect.signature(cls.forward).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is inspect.Parameter.empty:
            required.append(p.name)
        elif p.default is None:
            if _mentions_tensor(p.annotation):
                optional.append(p.name)
        elif isinstance(p.default, (bool, int, float)) and not _mentions_tensor(p.annotation) \
                and p.name not in constructor:
            kind = "bool" if isinstance(p.default, bool) else "int" if isinstance(p.default, int) else "float"
            doc = _arg_doc(docs[p.name]) if p.name in docs else ""
            fparams.append(_Arg(p.name, ParamSpec(p.name, kind, p.default, doc or
                                                  p.name.replace("_", " ") + " (a forward argument)")))
    return required, optional, fparams


# -- blocks whose constructor takes a module ------------------------------------------
def _stack_args(layer_cls: type, docs: dict[str, str], stack_cls: type) -> list[_Arg]:
    """TransformerEncoder/Decoder: the layer's settings, num_layers, a final LayerNorm and the rest."""
    layer = _constructor_args(layer_cls, _docs(layer_cls)[1])
    own = [_param(stack_cls.__name__, p, docs.get(p.name, ""))
           for p in list(inspect.signature(stack_cls.__init__).parameters.values())[1:]]
    norm = _Arg("norm", ParamSpec("norm", "bool", False, "add a final LayerNorm over d_model"))
    return layer + [a for a in own if a is not None] + [norm]


def _stack_maker(stack_cls: type, layer_cls: type, layer_names: tuple[str, ...], own: tuple[str, ...]):
    def make(p: dict) -> nn.Module:
        layer = layer_cls(**{k: p[k] for k in layer_names})
        norm = nn.LayerNorm(p["d_model"], eps=p["layer_norm_eps"], bias=p["bias"]) if p["norm"] else None
        return stack_cls(layer, norm=norm, **{k: p[k] for k in own})

    def source(p: dict) -> str:
        layer = _call_source(layer_cls, {k: p[k] for k in layer_names})
        norm = f"nn.LayerNorm({p['d_model']!r}, eps={p['layer_norm_eps']!r}, bias={p['bias']!r})" if p["norm"] \
            else "None"
        rest = "".join(f", {k}={p[k]!r}" for k in own)
        return f"nn.{stack_cls.__name__}({layer}, norm={norm}{rest})"
    return make, source


def _maker(cls: type, args: list[_Arg]):
    def make(p: dict) -> nn.Module:
        return cls(**{a.name: a.convert(p[a.name]) for a in args})

    def source(p: dict) -> str:
        return _call_source(cls, {a.name: a.convert(p[a.name]) for a in args})
    return make, source


def _call_source(cls: type, kwargs: dict) -> str:
    """``nn.Name(key=value, ...)``, leaving out the arguments at torch's own defaults."""
    try:
        defaults = {q.name: q.default for q in inspect.signature(cls.__init__).parameters.values()}
    except (TypeError, ValueError):
        defaults = {}
    shown = [f"{k}={v!r}" for k, v in kwargs.items()
             if k not in defaults or defaults[k] is inspect.Parameter.empty or defaults[k] != v]
    return f"nn.{cls.__name__}({', '.join(shown)})"


# -- generation ----------------------------------------------------------------------
def public_classes() -> list[type]:
    """Every public nn.Module subclass of ``torch.nn.modules``, in its ``__all__`` order."""
    mods = nn.modules
    found = []
    for name in getattr(mods, "__all__", dir(mods)):
        obj = getattr(mods, name, None)
        if not name.startswith("_") and inspect.isclass(obj) and issubclass(obj, nn.Module):
            found.append(obj)
    return found


def skip_reason(cls: type) -> str | None:
    name = cls.__name__
    if name in tables.SKIPPED:
        return tables.SKIPPED[name]
    if name.startswith("Lazy"):
        return tables.LAZY_REASON
    if inspect.isabstract(cls):
        return "an abstract base class"
    return None


def make_block(cls: type) -> BlockSpec:
    """The generated BlockSpec of one torch.nn class; raises LookupError when a table lacks something."""
    name = cls.__name__
    description, docs = _docs(cls)
    description = tables.DESCRIPTIONS.get(name, description) or f"torch.nn.{name}."
    if name in ("TransformerEncoder", "TransformerDecoder"):
        layer_cls = nn.TransformerEncoderLayer if name == "TransformerEncoder" else nn.TransformerDecoderLayer
        args = _stack_args(layer_cls, docs, cls)
        layer_names = tuple(a.name for a in _constructor_args(layer_cls, {}))
        own = tuple(a.name for a in args if a.name not in layer_names and a.name != "norm")
        make_module, source = _stack_maker(cls, layer_cls, layer_names, own)
    else:
        args = _constructor_args(cls, docs)
        make_module, source = _maker(cls, args)
    required, optional, fparams = _forward(cls, {a.name for a in args}, docs)
    packed: tuple = ()
    if name in tables.PACKED:
        keyword, ports = tables.PACKED[name]
        optional = [p for p in optional if p != keyword] + list(ports)
        packed = ((keyword, ports),)
    if len(required) == 1 and required[0] in tables.GENERIC_INPUTS:
        required = ["in"]
    required = [r.rstrip("_") for r in required]   # AdaptiveLogSoftmaxWithLoss's input_, target_
    outputs, paths = tables.OUTPUTS.get(name, (("out",), ((),)))
    params = tuple(a.spec for a in args) + tuple(a.spec for a in fparams)
    inputs = tuple(required + optional)
    recipe = meta_infer.Recipe(
        name, make_module, tuple(p.name for p in params), inputs, tuple(optional), packed,
        tuple(a.name for a in fparams), outputs, paths,
        *tables.SHRINK.get(name, (None, ())))

    def infer_outputs(p: dict, ins: list) -> dict:
        return meta_infer.infer(recipe, p, ins).outputs

    def infer(p: dict, ins: list):
        outs = meta_infer.infer(recipe, p, ins).outputs
        return outs[outputs[0]]

    def param_shapes(p: dict, ins: list) -> dict:
        return meta_infer.infer(recipe, p, ins).parameters

    several = len(outputs) > 1 or bool(optional)
    category = _category(name)
    return BlockSpec(
        name, category, description, params=params, inputs=inputs, outputs=outputs,
        make_module=make_module, infer=infer, param_shapes=param_shapes, icon=tables.ICONS[category],
        module_class=cls, optional_inputs=tuple(optional), packed_inputs=packed, source=source,
        output_paths=paths if len(outputs) > 1 else (), forward_params=tuple(a.name for a in fparams),
        infer_outputs=infer_outputs if several else None,
    )


def generate(existing: set[str] | frozenset[str] = frozenset()) -> tuple[BlockSpec, ...]:
    """A block for every public torch.nn class not skipped and not in ``existing``."""
    blocks = []
    for cls in public_classes():
        if cls.__name__ in existing or skip_reason(cls):
            continue
        blocks.append(make_block(cls))
    return tuple(blocks)


def skipped() -> dict[str, str]:
    """Every public torch.nn class that is not generated, with the reason (hand-written ones too)."""
    return {cls.__name__: skip_reason(cls) for cls in public_classes() if skip_reason(cls)}
