"""Layers with parameters or state: Linear, Conv2d, normalisation, pooling, Embedding..."""

from __future__ import annotations

import torch
from torch import nn

from .block_spec import BlockSpec, ShapeError
from .params import MAX_FEATURES, ParamSpec
from .shape_rules import conv_out, need_float, need_rank, need_weight_dtype, pair
from .tensor_spec import TensorSpec, format_shape

LAYERS = "Layers"
CONVOLUTION = "Convolution"
POOLING = "Pooling"
NORMALIZATION = "Normalization"
DROPOUT_CATEGORY = "Dropout"
EMBEDDING_CATEGORY = "Embedding"


def _linear_module(p: dict) -> nn.Module:
    if p["in_features"] is None:
        return nn.LazyLinear(p["out_features"], bias=p["bias"])
    return nn.Linear(p["in_features"], p["out_features"], bias=p["bias"])


def _linear_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    (x,) = ins
    need_weight_dtype("Linear", x)
    if not x.shape:
        raise ShapeError("Linear needs an input with at least one dimension, receives a scalar")
    got = x.shape[-1]
    if p["in_features"] is not None and got != p["in_features"]:
        raise ShapeError(f"Linear expects {p['in_features']} input features, receives {got}")
    return TensorSpec(x.shape[:-1] + (p["out_features"],), x.dtype)


def _linear_params(p: dict, ins: list[TensorSpec]) -> dict:
    n_in = p["in_features"] if p["in_features"] is not None else ins[0].shape[-1]
    shapes = {"weight": (p["out_features"], n_in)}
    if p["bias"]:
        shapes["bias"] = (p["out_features"],)
    return shapes


LINEAR = BlockSpec(
    "Linear", LAYERS, "Fully connected layer y = x Wᵀ + b; leave in_features empty to size it from the input.",
    params=(
        ParamSpec("in_features", "int", None, "input size; empty means deferred (LazyLinear)", minimum=1, maximum=MAX_FEATURES, optional=True),
        ParamSpec("out_features", "int", 10, "output size", minimum=1, maximum=MAX_FEATURES, key=True),
        ParamSpec("bias", "bool", True, "learn an additive bias"),
    ),
    make_module=_linear_module, infer=_linear_infer, param_shapes=_linear_params,
    is_deferred=lambda p: p["in_features"] is None, icon="mdi6.vector-polyline", module_class=nn.Linear,
)


def _bilinear_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    a, b = ins
    for x in (a, b):
        need_weight_dtype("Bilinear", x)
    for port, x, want in (("input1", a, p["in1_features"]), ("input2", b, p["in2_features"])):
        if not x.shape:
            raise ShapeError(f"Bilinear needs {port} with at least one dimension, receives a scalar")
        if x.shape[-1] != want:
            raise ShapeError(f"Bilinear expects {want} features in {port}, receives {x.shape[-1]}")
    if a.shape[:-1] != b.shape[:-1]:
        raise ShapeError(f"Bilinear needs input1 and input2 with the same leading dimensions, receives "
                         f"{format_shape(a.shape)} and {format_shape(b.shape)}")
    return TensorSpec(a.shape[:-1] + (p["out_features"],), a.dtype)


# Hand-written rather than generated from nn.Bilinear: torch's meta kernel issues two batched
# products per output feature, so checking Bilinear(.., .., 16_000_000) on meta would take hours.
BILINEAR = BlockSpec(
    "Bilinear", LAYERS, "Bilinear transformation y = x1ᵀ A x2 + b of two inputs.",
    params=(
        ParamSpec("in1_features", "int", 10, "size of each first input sample", minimum=1, maximum=MAX_FEATURES, key=True),
        ParamSpec("in2_features", "int", 10, "size of each second input sample", minimum=1, maximum=MAX_FEATURES, key=True),
        ParamSpec("out_features", "int", 10, "size of each output sample", minimum=1, maximum=MAX_FEATURES, key=True),
        ParamSpec("bias", "bool", True, "learn an additive bias"),
    ),
    inputs=("input1", "input2"),
    make_module=lambda p: nn.Bilinear(p["in1_features"], p["in2_features"], p["out_features"], bias=p["bias"]),
    infer=_bilinear_infer,
    param_shapes=lambda p, ins: {"weight": (p["out_features"], p["in1_features"], p["in2_features"]),
                                 **({"bias": (p["out_features"],)} if p["bias"] else {})},
    icon="mdi6.vector-polyline", module_class=nn.Bilinear,
)


def _conv_module(p: dict) -> nn.Module:
    kw = dict(kernel_size=tuple(pair(p["kernel_size"])), stride=tuple(pair(p["stride"])),
              padding=tuple(pair(p["padding"])), dilation=tuple(pair(p["dilation"])),
              groups=p["groups"], bias=p["bias"])
    if p["in_channels"] is None:
        return nn.LazyConv2d(p["out_channels"], **kw)
    return nn.Conv2d(p["in_channels"], p["out_channels"], **kw)


def _conv_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    (x,) = ins
    need_rank("Conv2d", x, (3, 4), "(C, H, W) or (N, C, H, W)")
    need_weight_dtype("Conv2d", x)
    c = x.shape[-3]
    if p["in_channels"] is not None and c != p["in_channels"]:
        raise ShapeError(f"Conv2d expects {p['in_channels']} input channels, receives {c}")
    groups = p["groups"]
    if c % groups or p["out_channels"] % groups:
        raise ShapeError(f"Conv2d's groups ({groups}) must divide both channel counts ({c} in, {p['out_channels']} out)")
    (kh, kw), (sh, sw) = pair(p["kernel_size"]), pair(p["stride"])
    (ph, pw), (dh, dw) = pair(p["padding"]), pair(p["dilation"])
    h, w = conv_out(x.shape[-2], kh, sh, ph, dh), conv_out(x.shape[-1], kw, sw, pw, dw)
    if h <= 0 or w <= 0:
        raise ShapeError(f"Conv2d's kernel {kh}×{kw} is larger than its padded input {x.shape[-2]}×{x.shape[-1]}")
    return TensorSpec(x.shape[:-3] + (p["out_channels"], h, w), x.dtype)


def _conv_params(p: dict, ins: list[TensorSpec]) -> dict:
    c = p["in_channels"] if p["in_channels"] is not None else ins[0].shape[-3]
    kh, kw = pair(p["kernel_size"])
    shapes = {"weight": (p["out_channels"], c // p["groups"], kh, kw)}
    if p["bias"]:
        shapes["bias"] = (p["out_channels"],)
    return shapes


_KERNEL = dict(kind="ints", minimum=1, length=(1, 2))
CONV2D = BlockSpec(
    "Conv2d", CONVOLUTION, "2-D convolution over (N, C, H, W) images; leave in_channels empty to size it from the input.",
    params=(
        ParamSpec("in_channels", "int", None, "input channels; empty means deferred (LazyConv2d)", minimum=1, maximum=MAX_FEATURES, optional=True),
        ParamSpec("out_channels", "int", 16, "output channels", minimum=1, maximum=MAX_FEATURES, key=True),
        ParamSpec("kernel_size", default=[3, 3], doc="kernel height and width", key=True, **_KERNEL),
        ParamSpec("stride", default=[1, 1], doc="step between kernel positions", **_KERNEL),
        ParamSpec("padding", "ints", [0, 0], "zeros added on each side", minimum=0, length=(1, 2)),
        ParamSpec("dilation", default=[1, 1], doc="spacing between kernel elements", **_KERNEL),
        ParamSpec("groups", "int", 1, "blocked connections from input to output channels", minimum=1, maximum=MAX_FEATURES),
        ParamSpec("bias", "bool", True, "learn an additive bias"),
    ),
    make_module=_conv_module, infer=_conv_infer, param_shapes=_conv_params,
    is_deferred=lambda p: p["in_channels"] is None, icon="mdi6.grid", module_class=nn.Conv2d,
)


def _pool_infer(name: str):
    def infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
        (x,) = ins
        need_rank(name, x, (3, 4), "(C, H, W) or (N, C, H, W)")
        (kh, kw) = pair(p["kernel_size"])
        (sh, sw) = pair(p["stride"] if p["stride"] is not None else p["kernel_size"])
        (ph, pw) = pair(p["padding"])
        if ph * 2 > kh or pw * 2 > kw:
            raise ShapeError(f"{name}'s padding must be at most half its kernel size")
        ceil = p["ceil_mode"]
        h, w = conv_out(x.shape[-2], kh, sh, ph, 1, ceil), conv_out(x.shape[-1], kw, sw, pw, 1, ceil)
        if h <= 0 or w <= 0:
            raise ShapeError(f"{name}'s kernel {kh}×{kw} is larger than its padded input {x.shape[-2]}×{x.shape[-1]}")
        return TensorSpec(x.shape[:-2] + (h, w), x.dtype)
    return infer


def _pool_params() -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("kernel_size", default=[2, 2], doc="window height and width", key=True, **_KERNEL),
        ParamSpec("stride", "ints", None, "step between windows; empty means the kernel size", minimum=1,
                  length=(1, 2), optional=True),
        ParamSpec("padding", "ints", [0, 0], "implicit padding on each side", minimum=0, length=(1, 2)),
        ParamSpec("ceil_mode", "bool", False, "round the output size up instead of down"),
    )


def _pool_kwargs(p: dict) -> dict:
    return dict(kernel_size=tuple(pair(p["kernel_size"])),
                stride=tuple(pair(p["stride"])) if p["stride"] is not None else None,
                padding=tuple(pair(p["padding"])), ceil_mode=p["ceil_mode"])


MAXPOOL2D = BlockSpec(
    "MaxPool2d", POOLING, "Maximum over sliding windows of an image.", params=_pool_params(),
    make_module=lambda p: nn.MaxPool2d(**_pool_kwargs(p)), infer=_pool_infer("MaxPool2d"),
    icon="mdi6.arrow-collapse-all", module_class=nn.MaxPool2d,
)
AVGPOOL2D = BlockSpec(
    "AvgPool2d", POOLING, "Average over sliding windows of an image.", params=_pool_params(),
    make_module=lambda p: nn.AvgPool2d(**_pool_kwargs(p)), infer=_pool_infer("AvgPool2d"),
    icon="mdi6.arrow-collapse", module_class=nn.AvgPool2d,
)


def _adaptive_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    (x,) = ins
    need_rank("AdaptiveAvgPool2d", x, (3, 4), "(C, H, W) or (N, C, H, W)")
    need_float("AdaptiveAvgPool2d", x)
    return TensorSpec(x.shape[:-2] + pair(p["output_size"]), x.dtype)


ADAPTIVE_AVGPOOL2D = BlockSpec(
    "AdaptiveAvgPool2d", POOLING, "Average-pools any image size down to a fixed output size.",
    params=(ParamSpec("output_size", default=[1, 1], doc="output height and width", key=True, **_KERNEL),),
    make_module=lambda p: nn.AdaptiveAvgPool2d(tuple(pair(p["output_size"]))), infer=_adaptive_infer,
    icon="mdi6.image-size-select-small", module_class=nn.AdaptiveAvgPool2d,
)


DROPOUT = BlockSpec(
    "Dropout", DROPOUT_CATEGORY, "Zeroes random elements with probability p while training.",
    params=(ParamSpec("p", "float", 0.5, "probability of an element being zeroed", minimum=0.0, maximum=1.0, key=True),),
    make_module=lambda p: nn.Dropout(p["p"]), infer=lambda p, ins: ins[0], icon="mdi6.dots-grid",
    module_class=nn.Dropout,
)


def _batchnorm(name: str, ranks: tuple[int, ...], layout: str, eager, lazy):
    def infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
        (x,) = ins
        need_rank(name, x, ranks, layout)
        need_weight_dtype(name, x)
        c = x.shape[1]
        if p["num_features"] is not None and c != p["num_features"]:
            raise ShapeError(f"{name} expects {p['num_features']} features, receives {c}")
        return x

    def warn(p: dict, ins: list[TensorSpec]) -> str | None:
        x = ins[0]
        if x.numel // max(x.shape[1], 1) == 1:
            return (f"{name} receives one value per channel (shape {format_shape(x.shape)}): it works in eval "
                    "mode, but training needs a batch of more than one")
        return None

    def params(p: dict, ins: list[TensorSpec]) -> dict:
        x = ins[0].shape
        c = p["num_features"] if p["num_features"] is not None else x[1]
        return {"weight": (c,), "bias": (c,)} if p["affine"] else {}

    def module(p: dict) -> nn.Module:
        kw = dict(eps=p["eps"], momentum=p["momentum"], affine=p["affine"])
        return lazy(**kw) if p["num_features"] is None else eager(p["num_features"], **kw)

    return BlockSpec(
        name, NORMALIZATION, f"Normalises each feature over the batch ({layout} input); learns a scale and shift.",
        params=(
            ParamSpec("num_features", "int", None, "features (channels); empty means deferred", minimum=1, maximum=MAX_FEATURES,
                      optional=True, key=True),
            ParamSpec("eps", "float", 1e-5, "added to the variance for stability (positive)", minimum=1e-12),
            ParamSpec("momentum", "float", 0.1, "running statistics update rate", minimum=0.0, maximum=1.0),
            ParamSpec("affine", "bool", True, "learn a scale and shift"),
        ),
        make_module=module, infer=infer, param_shapes=params, warn=warn,
        is_deferred=lambda p: p["num_features"] is None, icon="mdi6.chart-bell-curve", module_class=eager,
    )


BATCHNORM1D = _batchnorm("BatchNorm1d", (2, 3), "(N, C) or (N, C, L)", nn.BatchNorm1d, nn.LazyBatchNorm1d)
BATCHNORM2D = _batchnorm("BatchNorm2d", (4,), "(N, C, H, W)", nn.BatchNorm2d, nn.LazyBatchNorm2d)


def _layernorm_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    (x,) = ins
    if p["elementwise_affine"]:
        need_weight_dtype("LayerNorm", x)
    need_float("LayerNorm", x)
    norm = tuple(p["normalized_shape"])
    if tuple(x.shape[len(x.shape) - len(norm):]) != norm or len(norm) > len(x.shape):
        raise ShapeError(f"LayerNorm normalises the last dimensions {format_shape(norm)}, "
                         f"but receives shape {format_shape(x.shape)}")
    return x


LAYERNORM = BlockSpec(
    "LayerNorm", NORMALIZATION, "Normalises over the last dimensions of each sample; learns a scale and shift.",
    params=(
        ParamSpec("normalized_shape", "shape", [10], "the trailing dimensions to normalise", length=(1, 8), key=True),
        ParamSpec("eps", "float", 1e-5, "added to the variance for stability", minimum=0.0),
        ParamSpec("elementwise_affine", "bool", True, "learn a scale and shift"),
        ParamSpec("bias", "bool", True, "learn the shift (with elementwise_affine)"),
    ),
    make_module=lambda p: nn.LayerNorm(tuple(p["normalized_shape"]), eps=p["eps"],
                                       elementwise_affine=p["elementwise_affine"], bias=p["bias"]),
    infer=_layernorm_infer,
    param_shapes=lambda p, ins: (
        {"weight": tuple(p["normalized_shape"]), **({"bias": tuple(p["normalized_shape"])} if p["bias"] else {})}
        if p["elementwise_affine"] else {}),
    icon="mdi6.format-align-middle", module_class=nn.LayerNorm,
)


def _embedding_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    (x,) = ins
    if x.dtype.is_floating_point or x.dtype.is_complex or str(x.dtype) == "torch.bool":
        raise ShapeError(f"Embedding needs integer indices, receives {x.dtype_name}")
    return TensorSpec(x.shape + (p["embedding_dim"],), torch.get_default_dtype())


EMBEDDING = BlockSpec(
    "Embedding", EMBEDDING_CATEGORY, "Looks up a learned vector for each integer index.",
    params=(
        ParamSpec("num_embeddings", "int", 1000, "size of the vocabulary", minimum=1, maximum=MAX_FEATURES, key=True),
        ParamSpec("embedding_dim", "int", 64, "size of each vector", minimum=1, maximum=MAX_FEATURES, key=True),
    ),
    make_module=lambda p: nn.Embedding(p["num_embeddings"], p["embedding_dim"]),
    infer=_embedding_infer,
    param_shapes=lambda p, ins: {"weight": (p["num_embeddings"], p["embedding_dim"])},
    icon="mdi6.book-alphabet", module_class=nn.Embedding,
)

BLOCKS = (LINEAR, BILINEAR, CONV2D, MAXPOOL2D, AVGPOOL2D, ADAPTIVE_AVGPOOL2D, DROPOUT,
          BATCHNORM1D, BATCHNORM2D, LAYERNORM, EMBEDDING)
