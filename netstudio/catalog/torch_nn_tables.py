"""What the torch.nn generator needs to know that a class's signature and docstring do not say.

Pure data, kept apart from the generation logic in :mod:`.torch_nn`: palette
categories and icons, the classes left out and why, palette defaults for
required arguments, bounds (so a file cannot ask for a giant layer), choices
for enum-like text, and the ports of classes whose forward returns or takes
tuples.  A new torch release is met here by editing a table, not the logic.
"""

from __future__ import annotations

from .params import MAX_FEATURES

LAYERS = "Layers"
CONVOLUTION = "Convolution"
POOLING = "Pooling"
NORMALIZATION = "Normalization"
RECURRENT = "Recurrent"
ATTENTION = "Attention and Transformer"
ACTIVATIONS = "Activations"
DROPOUT = "Dropout"
PADDING = "Padding"
EMBEDDING = "Embedding"
SHAPE = "Shape and resampling"
DISTANCES = "Distances"
LOSSES = "Losses"

ICONS = {
    LAYERS: "mdi6.vector-polyline", CONVOLUTION: "mdi6.grid", POOLING: "mdi6.arrow-collapse-all",
    NORMALIZATION: "mdi6.chart-bell-curve", RECURRENT: "mdi6.repeat", ATTENTION: "mdi6.eye-outline",
    ACTIVATIONS: "mdi6.chart-line-variant", DROPOUT: "mdi6.dots-grid", PADDING: "mdi6.border-outside",
    EMBEDDING: "mdi6.book-alphabet", SHAPE: "mdi6.resize", DISTANCES: "mdi6.ruler", LOSSES: "mdi6.target",
}

_CONTAINER = "a container: NetStudio's Sequential and Block definitions play its part"
SKIPPED: dict[str, str] = {
    "Module": "the base class of every module (a Code block is its own nn.Module)",
    "Container": "a deprecated base class",
    "Sequential": _CONTAINER, "ModuleList": _CONTAINER, "ModuleDict": _CONTAINER,
    "ParameterList": _CONTAINER, "ParameterDict": _CONTAINER,
    "RNNBase": "the base class of RNN, LSTM and GRU (it needs a mode), which are blocks",
    "RNNCellBase": "the base class of RNNCell, LSTMCell and GRUCell, which are blocks",
    "SyncBatchNorm": "needs a torch.distributed process group and a GPU; BatchNorm covers one device",
    "NLLLoss2d": "a deprecated alias of NLLLoss, which takes 2-D targets itself",
}
LAZY_REASON = "a Lazy variant: the eager block covers it (an empty size means deferred, where hand-written)"

# Constructor arguments never shown: not hyperparameters (device, dtype, tensors, modules,
# callables), deprecated (size_average, reduce, min_value, max_value), or fixed on purpose
# (inplace, return_indices: see the module docstring).
SKIP_ARGS = frozenset({
    "device", "dtype", "size_average", "reduce", "inplace", "return_indices", "process_group",
    "custom_encoder", "custom_decoder", "distance_function", "options", "min_value", "max_value",
    "weight", "pos_weight", "encoder_layer", "decoder_layer", "norm",
})

# Sizes: at least 1 and at most MAX_FEATURES, so a file cannot ask for a giant layer.
SIZES = frozenset({
    "in_features", "out_features", "in1_features", "in2_features", "in_channels", "out_channels",
    "num_features", "num_channels", "num_groups", "input_size", "hidden_size", "embed_dim", "num_heads",
    "kdim", "vdim", "d_model", "nhead", "dim_feedforward", "num_embeddings", "embedding_dim",
    "num_parameters", "n_classes", "num_classes", "groups", "upscale_factor", "downscale_factor", "size",
})
# Layer counts: each layer is a Python object even on meta, so keep them modest.
COUNTS = frozenset({"num_layers", "num_encoder_layers", "num_decoder_layers"})
MAX_LAYERS = 64
# Other bounded numbers: (minimum, maximum).
RANGES: dict[str, tuple[float | None, float | None]] = {
    "proj_size": (0, MAX_FEATURES), "dropout": (0.0, 1.0), "momentum": (0.0, 1.0),
    "label_smoothing": (0.0, 1.0), "eps": (0.0, None), "layer_norm_eps": (0.0, None),
    "output_ratio": (0.0, 1.0),
}
# By class: (class, argument) -> (minimum, maximum).
CLASS_RANGES: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("MultiMarginLoss", "p"): (1, 2),
}

# Palette defaults for arguments torch requires (and a few torch leaves unusable at None).
REQUIRED: dict[str, object] = {
    "in_features": 10, "out_features": 10, "in1_features": 10, "in2_features": 10,
    "in_channels": 4, "out_channels": 4, "kernel_size": 3, "num_features": 4, "input_size": 10,
    "hidden_size": 16, "embed_dim": 16, "d_model": 16, "num_heads": 2, "nhead": 2, "num_embeddings": 100,
    "embedding_dim": 16, "normalized_shape": [16], "num_groups": 2, "num_channels": 4, "upscale_factor": 2,
    "downscale_factor": 2, "groups": 2, "output_size": 1, "norm_type": 2.0, "padding": 1, "value": 0.0,
    "threshold": 0.0, "size": 2, "dim": 1, "unflattened_size": [2, 5], "n_classes": 10, "cutoffs": [5],
    "num_classes": 10, "num_layers": 2,
}
CLASS_DEFAULTS: dict[str, dict[str, object]] = {
    "FractionalMaxPool2d": {"kernel_size": [2], "output_ratio": 0.5},
    "FractionalMaxPool3d": {"kernel_size": [2], "output_ratio": 0.5},
    "Upsample": {"scale_factor": 2.0}, "UpsamplingNearest2d": {"scale_factor": 2.0},
    "UpsamplingBilinear2d": {"scale_factor": 2.0},
    "Softmin": {"dim": -1}, "LogSoftmax": {"dim": -1},   # None means torch's deprecated implicit dim
    "KLDivLoss": {"reduction": "batchmean"},   # torch warns on every call with 'mean', its own default
    "Fold": {"output_size": [4, 5], "kernel_size": [2, 2]}, "Unfold": {"kernel_size": [2, 2]},
}
for _n in ("MaxPool1d", "MaxPool3d", "AvgPool1d", "AvgPool3d", "LPPool1d", "LPPool2d", "LPPool3d",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"):
    CLASS_DEFAULTS.setdefault(_n, {})["kernel_size"] = 2

_REDUCTION = ("mean", "sum", "none")
CHOICES: dict[str, tuple] = {
    "padding_mode": ("zeros", "reflect", "replicate", "circular"), "nonlinearity": ("tanh", "relu"),
    "reduction": _REDUCTION, "activation": ("relu", "gelu"), "approximate": ("none", "tanh"),
}
CLASS_CHOICES: dict[tuple[str, str], tuple] = {
    ("KLDivLoss", "reduction"): _REDUCTION + ("batchmean",),
    ("Upsample", "mode"): ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact"),
    ("EmbeddingBag", "mode"): ("sum", "mean", "max"),
    ("ConvTranspose1d", "padding_mode"): ("zeros",), ("ConvTranspose2d", "padding_mode"): ("zeros",),
    ("ConvTranspose3d", "padding_mode"): ("zeros",),
}
# Unannotated arguments whose default is None: (kind, optional size?).
UNTYPED_NONE = {"kdim": "int", "vdim": "int"}
KEY_NAMES = frozenset({"p", "dim", "negative_slope", "scale_factor", "num_layers", "kernel_size",
                        "output_size", "mode", "padding", "d_model", "nhead"})
# A sole required input with one of these names is the port "in", as on the hand-written blocks.
GENERIC_INPUTS = ("input", "input_", "x")
# Lengths of list arguments torch does not spell out (tuple[int, ...]).
CLASS_LENGTHS: dict[tuple[str, str], tuple[int, int]] = {
    ("Fold", "output_size"): (1, 2), ("Fold", "kernel_size"): (1, 2), ("Fold", "dilation"): (1, 2),
    ("Fold", "padding"): (1, 2), ("Fold", "stride"): (1, 2), ("Unfold", "kernel_size"): (1, 2),
    ("Unfold", "dilation"): (1, 2), ("Unfold", "padding"): (1, 2), ("Unfold", "stride"): (1, 2),
    ("Unflatten", "unflattened_size"): (1, 8), ("AdaptiveLogSoftmaxWithLoss", "cutoffs"): (1, 16),
    ("LinearCrossEntropyLoss", "out_features"): (0, 8), ("RMSNorm", "normalized_shape"): (1, 8),
}

# Tuple results: output port names and where each sits in forward's result.
OUTPUTS: dict[str, tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]] = {
    "LSTM": (("output", "h", "c"), ((0,), (1, 0), (1, 1))),
    "GRU": (("output", "h"), ((0,), (1,))),
    "RNN": (("output", "h"), ((0,), (1,))),
    "LSTMCell": (("h", "c"), ((0,), (1,))),
    "MultiheadAttention": (("output", "weights"), ((0,), (1,))),
    "AdaptiveLogSoftmaxWithLoss": (("output", "loss"), ((0,), (1,))),
}
# Forward arguments that take a tuple of tensors: keyword -> the optional ports packed into it.
PACKED: dict[str, tuple[str, tuple[str, ...]]] = {
    "LSTM": ("hx", ("h0", "c0")),
    "LSTMCell": ("hx", ("h0", "c0")),
}
# Dimensions forward loops over, step by step: (input index, dim, dim with batch_first, batched rank)
# and the outputs that have it; see meta_infer.Recipe.shrink.
SHRINK = {"LSTM": ((0, 0, 1, 3), ("output",)), "GRU": ((0, 0, 1, 3), ("output",)),
           "RNN": ((0, 0, 1, 3), ("output",)), "CrossMapLRN2d": ((0, 1, 1, 4), ("out",))}

# RNN, LSTM and GRU take *args/**kwargs; their arguments are RNNBase's (less mode) plus these.
RNN_EXTRA = {"RNN": ("nonlinearity",), "LSTM": ("proj_size",), "GRU": ()}

DESCRIPTIONS = {
    "RNN": "A multi-layer Elman RNN with tanh or ReLU non-linearity over a sequence.",
    "LSTM": "A multi-layer long short-term memory (LSTM) RNN over a sequence; h0 and c0 are optional "
            "initial states.",
    "GRU": "A multi-layer gated recurrent unit (GRU) RNN over a sequence.",
    "TransformerEncoder": "A stack of num_layers TransformerEncoderLayers (built from the layer's settings).",
    "TransformerDecoder": "A stack of num_layers TransformerDecoderLayers (built from the layer's settings).",
    "LinearCrossEntropyLoss": "A Linear layer followed by the cross entropy loss between its logits and the target.",
    "CrossMapLRN2d": "Local response normalisation across channels of a 4-D input (the legacy form of "
                     "LocalResponseNorm).",
    "TripletMarginWithDistanceLoss": "The triplet loss of an anchor, a positive and a negative example, with the "
                                     "pairwise distance as the distance function.",
}
