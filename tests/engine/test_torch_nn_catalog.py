"""Every public torch.nn module is a block, and the catalog's shapes are torch's own.

Each block that builds a torch.nn class (hand-written or generated from the
class) is built with its defaults on the meta device and on the CPU, and run
on a small input: what shape inference says about every output port (shape
and dtype) and about the parameters must be what the real CPU forward gives.
The calling convention used here is the one ``BlockSpec`` documents: required
ports positionally, optional ports by keyword (packed ports as one tuple),
``forward_params`` as keywords, each output port at its ``output_path``.
"""

from __future__ import annotations

import inspect
import time
import warnings

import pytest
import torch
from torch import nn

from netstudio.analysis import check
from netstudio.catalog import CATALOG, CATEGORIES, GENERATED, TensorSpec, meta_infer, torch_nn, torch_nn_tables
from netstudio.catalog.block_spec import Role, ShapeError
from netstudio.catalog.params import MAX_FEATURES
from netstudio.compiler import compile_project
from netstudio.errors import GraphError
from netstudio.limits import set_memory_budget

from .builders import chain_project

F32, I64 = torch.float32, torch.int64


def f(*shape):
    return TensorSpec(tuple(shape), F32)


def i(*shape):
    return TensorSpec(tuple(shape), I64)


# A small input each block accepts with its defaults (one entry per input port, None = unconnected).
SAMPLES: dict[str, list] = {
    "Linear": [f(3, 10)], "Conv2d": [f(2, 3, 8, 8)], "LayerNorm": [f(3, 10)], "BatchNorm1d": [f(3, 4)],
    "BatchNorm2d": [f(2, 4, 3, 3)], "Flatten": [f(2, 3, 4)], "Embedding": [i(2, 4)],
    "MaxPool2d": [f(2, 3, 8, 8)], "AvgPool2d": [f(2, 3, 8, 8)], "AdaptiveAvgPool2d": [f(2, 3, 8, 8)],
    "Conv1d": [f(2, 4, 8)], "ConvTranspose1d": [f(2, 4, 8)], "ConvTranspose2d": [f(2, 4, 8, 8)],
    "Conv3d": [f(2, 4, 6, 6, 6)], "ConvTranspose3d": [f(2, 4, 6, 6, 6)],
    "BatchNorm3d": [f(2, 4, 3, 3, 3)], "InstanceNorm1d": [f(2, 4, 8)], "InstanceNorm2d": [f(2, 4, 5, 5)],
    "InstanceNorm3d": [f(2, 4, 3, 3, 3)], "GroupNorm": [f(2, 4, 5)], "RMSNorm": [f(3, 16)],
    "LocalResponseNorm": [f(2, 4, 5, 5)], "CrossMapLRN2d": [f(2, 4, 5, 5)],
    "RNN": [f(5, 3, 10), None], "GRU": [f(5, 3, 10), None], "LSTM": [f(5, 3, 10), None, None],
    "RNNCell": [f(3, 10), None], "GRUCell": [f(3, 10), None], "LSTMCell": [f(3, 10), None, None],
    "MultiheadAttention": [f(5, 3, 16), f(5, 3, 16), f(5, 3, 16), None, None],
    "Transformer": [f(5, 3, 512), f(4, 3, 512)] + [None] * 6,
    "TransformerEncoderLayer": [f(5, 3, 16), None, None], "TransformerEncoder": [f(5, 3, 16), None, None],
    "TransformerDecoderLayer": [f(4, 3, 16), f(5, 3, 16)] + [None] * 4,
    "TransformerDecoder": [f(4, 3, 16), f(5, 3, 16)] + [None] * 4,
    "GLU": [f(2, 6)], "Softmax2d": [f(2, 3, 4, 4)], "FeatureAlphaDropout": [f(2, 3, 4)],
    "EmbeddingBag": [i(2, 4), None, None], "PixelShuffle": [f(2, 8, 3, 3)], "ChannelShuffle": [f(2, 4, 3, 3)],
    "Unflatten": [f(3, 10)], "Fold": [f(2, 8, 12)], "Bilinear": [f(3, 10), f(3, 10)],
    "CosineSimilarity": [f(3, 5), f(3, 5)], "PairwiseDistance": [f(3, 5), f(3, 5)],
    "GaussianNLLLoss": [f(3, 5)] * 3, "MultiLabelMarginLoss": [f(3, 5), i(3, 5)],
    "CosineEmbeddingLoss": [f(3, 5), f(3, 5), f(3)], "MarginRankingLoss": [f(3), f(3), f(3)],
    "TripletMarginLoss": [f(3, 5)] * 3, "TripletMarginWithDistanceLoss": [f(3, 5)] * 3,
    "CTCLoss": [f(6, 2, 5), i(2, 3), i(2), i(2)], "AdaptiveLogSoftmaxWithLoss": [f(3, 10), i(3)],
    "LinearCrossEntropyLoss": [f(3, 10), i(3)],
}
for _d, _shape in ((1, (2, 3, 8)), (2, (2, 3, 8, 8)), (3, (2, 3, 6, 6, 6))):
    for _n in ("MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "LPPool", "FractionalMaxPool",
               "ReflectionPad", "ReplicationPad", "ZeroPad", "ConstantPad", "CircularPad", "Dropout"):
        if _n != "FractionalMaxPool" or _d > 1:
            SAMPLES.setdefault(f"{_n}{_d}d", [f(*_shape)])
    SAMPLES[f"MaxUnpool{_d}d"] = [f(2, 3, *[4] * _d), i(2, 3, *[4] * _d)]
for _n in ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelUnshuffle", "Unfold"):
    SAMPLES[_n] = [f(2, 3, 4, 4)]
for _n in ("L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "SoftMarginLoss", "BCELoss", "BCEWithLogitsLoss",
           "KLDivLoss", "PoissonNLLLoss", "MultiLabelSoftMarginLoss", "HingeEmbeddingLoss"):
    SAMPLES[_n] = [f(3, 5), f(3, 5)]
for _n in ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss"):
    SAMPLES[_n] = [f(3, 5), i(3)]
DEFAULT_SAMPLE = [f(2, 5)]   # activations, Dropout, Identity...

# Values where zeros or uniform noise would not do (CTC needs real lengths).
VALUES = {
    "CTCLoss": lambda: [torch.randn(6, 2, 5).log_softmax(2), torch.randint(1, 5, (2, 3)),
                        torch.full((2,), 6), torch.full((2,), 3)],
}

TORCH_BLOCKS = sorted(name for name, spec in CATALOG.items() if spec.module_class is not None)


def tensors_for(type_name: str, ins: list) -> list:
    if type_name in VALUES:
        return VALUES[type_name]()
    return [None if s is None else (torch.rand(s.shape, dtype=s.dtype) if s.dtype.is_floating_point
                                    else torch.zeros(s.shape, dtype=s.dtype)) for s in ins]


def call(spec, module: nn.Module, params: dict, tensors: list):
    """Call ``module`` as BlockSpec's docstring says the compiler does."""
    ports = spec.input_ports(params)
    by_port = dict(zip(ports, tensors))
    packed = {p for _, group in spec.packed_inputs for p in group}
    args = [by_port[p] for p in ports if p not in spec.optional_inputs]
    kwargs = {}
    for keyword, group in spec.packed_inputs:
        if all(by_port[p] is not None for p in group):
            kwargs[keyword] = tuple(by_port[p] for p in group)
    for p in spec.optional_inputs:
        if p not in packed and by_port[p] is not None:
            kwargs[p] = by_port[p]
    kwargs.update(spec.forward_kwargs(params))
    return module(*args, **kwargs)


def at(result, path):
    for k in path:
        result = result[k]
    return result


def cpu_truth(spec, params: dict, tensors: list, train: bool = False):
    """Output specs per port and parameter shapes of a real CPU module."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's deprecation notes (KLDivLoss's 'mean', nested tensors)
        module = spec.make_module(params).train(train)
        result = call(spec, module, params, tensors)
    outs = {}
    for port in spec.outputs:
        value = at(result, spec.output_path(port))
        if value is not None:
            outs[port] = TensorSpec.of(value)
    return outs, {k: tuple(v.shape) for k, v in module.named_parameters()}


def assert_matches_cpu(type_name: str, overrides: dict, ins: list, tensors: list | None = None):
    spec = CATALOG[type_name]
    params = spec.resolve(overrides)
    assert all(p.validate(params[p.name]) is None for p in spec.params), type_name
    inferred = spec.infer_ports(params, ins)
    shapes = spec.param_shapes(params, ins) if spec.param_shapes else {}
    tensors = tensors_for(type_name, ins) if tensors is None else tensors
    outs, truth_params = cpu_truth(spec, params, tensors)
    assert inferred == outs, type_name
    assert shapes == truth_params, type_name
    return inferred


# -- the catalog covers torch.nn ------------------------------------------------------
def test_every_public_torch_nn_class_is_a_block_or_skipped_with_a_reason():
    blocks = {spec.module_class: name for name, spec in CATALOG.items() if spec.module_class is not None}
    skipped = torch_nn.skipped()
    for cls in torch_nn.public_classes():
        if cls.__name__ in skipped:
            assert cls.__name__ not in CATALOG or CATALOG[cls.__name__].module_class is not cls
            assert skipped[cls.__name__].strip()
            continue
        assert blocks.get(cls) == cls.__name__, f"{cls.__name__} is neither a block nor skipped"
    assert all(name.startswith("Lazy") or name in torch_nn_tables.SKIPPED for name in skipped)
    for name in ("LSTM", "GRU", "RNN", "LSTMCell", "MultiheadAttention", "Transformer", "TransformerEncoder",
                 "TransformerDecoderLayer", "Conv1d", "Conv3d", "ConvTranspose2d", "GroupNorm", "Upsample",
                 "PixelShuffle", "Unflatten", "Fold", "Unfold", "Bilinear", "CosineSimilarity", "CrossEntropyLoss",
                 "EmbeddingBag", "PReLU", "SiLU", "FractionalMaxPool2d", "LPPool2d", "ZeroPad2d"):
        assert name in CATALOG, name
    assert len(CATALOG) >= 150


def test_hand_written_blocks_win_and_name_their_class():
    for name in ("Linear", "Bilinear", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Dropout", "BatchNorm1d",
                 "BatchNorm2d", "LayerNorm", "Embedding", "ReLU", "Sigmoid", "Tanh", "GELU", "Softmax", "Flatten",
                 "Identity"):
        spec = CATALOG[name]
        assert spec.module_class is getattr(nn, name)
        assert spec.make_module.__module__ != torch_nn.__name__, name   # not regenerated
    assert CATALOG["Linear"].params[0].optional   # the deferred size stays


def test_the_palette_categories_are_ordered_and_all_known():
    assert CATEGORIES[0] == "Inputs and outputs" and CATEGORIES[-1] == "Custom code"
    assert set(CATEGORIES) <= set(torch_nn_tables.ICONS) | {"Inputs and outputs", "Tensor operations", "Containers",
                                                     "Custom code"}
    assert CATALOG["Conv1d"].category == CATALOG["Conv2d"].category == "Convolution"
    assert CATALOG["LSTM"].category == "Recurrent" and CATALOG["MSELoss"].category == "Losses"


def test_port_and_parameter_declarations_are_consistent():
    for name, spec in CATALOG.items():
        if spec.module_class is None:
            continue
        params = spec.defaults()
        ports = spec.input_ports(params)
        assert set(spec.optional_inputs) <= set(ports), name
        required = [p for p in ports if p not in spec.optional_inputs]
        assert list(ports[:len(required)]) == required, f"{name}: optional ports must come last"
        for keyword, group in spec.packed_inputs:
            assert set(group) <= set(spec.optional_inputs), name
        assert set(spec.forward_params) <= set(params), name
        assert not spec.output_paths or len(spec.output_paths) == len(spec.outputs), name
        if len(spec.outputs) > 1 or spec.optional_inputs:
            assert spec.infer_outputs is not None, name
        assert len(ports) == len(set(ports)) and len(spec.outputs) == len(set(spec.outputs)), name
        assert spec.description.endswith(".") and "`" not in spec.description, name
        for p in spec.params:
            assert p.validate(p.default) is None, (name, p.name)
            assert p.doc and "`" not in p.doc and ":math:" not in p.doc, (name, p.name)


def test_output_paths():
    lstm = CATALOG["LSTM"]
    assert lstm.outputs == ("output", "h", "c")
    assert [lstm.output_path(p) for p in lstm.outputs] == [(0,), (1, 0), (1, 1)]
    assert CATALOG["Linear"].output_path("out") == ()
    assert CATALOG["MultiheadAttention"].output_path("weights") == (1,)
    assert CATALOG["LSTM"].packed_inputs == (("hx", ("h0", "c0")),)
    assert CATALOG["GRU"].optional_inputs == ("hx",)
    mha = CATALOG["MultiheadAttention"]
    assert mha.inputs == ("query", "key", "value", "key_padding_mask", "attn_mask")
    assert mha.forward_params == ("need_weights", "average_attn_weights", "is_causal")
    assert CATALOG["TransformerEncoderLayer"].forward_params == ("is_causal",)


# -- shapes are torch's ---------------------------------------------------------------
@pytest.mark.parametrize("type_name", TORCH_BLOCKS)
def test_defaults_build_on_meta_and_infer_what_a_cpu_forward_gives(type_name):
    spec = CATALOG[type_name]
    assert spec.role is Role.LAYER
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = spec.make_module(spec.defaults())
    assert isinstance(module, spec.module_class) or getattr(module, "cls_to_become", None) is spec.module_class
    ins = SAMPLES.get(type_name, DEFAULT_SAMPLE)
    assert len(ins) == len(spec.input_ports(spec.defaults())), type_name
    inferred = assert_matches_cpu(type_name, {}, ins)
    assert list(inferred) == [p for p in spec.outputs if p in inferred] and inferred
    # Training mode decides the same shapes (the samples have batches of more than one).
    tensors = tensors_for(type_name, ins)
    assert cpu_truth(spec, spec.resolve({}), tensors, train=True)[0] == inferred


def test_every_sample_names_a_block():
    assert set(SAMPLES) <= set(TORCH_BLOCKS)


@pytest.mark.parametrize("type_name, overrides, ins", [
    ("LSTM", {}, [f(5, 3, 10), f(1, 3, 16), f(1, 3, 16)]),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 4, "batch_first": True},
     [f(3, 7, 10), f(4, 3, 4), f(4, 3, 16)]),
    ("LSTM", {"batch_first": True}, [f(3, 7, 10), None, None]),
    ("LSTM", {}, [f(7, 10), None, None]),                      # unbatched
    ("GRU", {"num_layers": 3}, [f(4, 2, 10), f(3, 2, 16)]),
    ("RNN", {"nonlinearity": "relu", "bidirectional": True}, [f(6, 10), None]),
    ("LSTMCell", {}, [f(3, 10), f(3, 16), f(3, 16)]),
    ("GRUCell", {}, [f(3, 10), f(3, 16)]),
    ("MultiheadAttention", {}, [f(5, 3, 16), f(6, 3, 16), f(6, 3, 16), None, TensorSpec((5, 6), torch.bool)]),
    ("MultiheadAttention", {"batch_first": True, "kdim": 7, "vdim": 9},
     [f(3, 5, 16), f(3, 6, 7), f(3, 6, 9), TensorSpec((3, 6), torch.bool), None]),
    ("MultiheadAttention", {"need_weights": False}, [f(5, 3, 16)] * 3 + [None, None]),
    ("MultiheadAttention", {"average_attn_weights": False}, [f(5, 3, 16)] * 3 + [None, None]),
    ("TransformerEncoderLayer", {"is_causal": True}, [f(5, 3, 16), f(5, 5), None]),
    ("TransformerEncoder", {"batch_first": True, "norm": True},
     [f(3, 5, 16), None, TensorSpec((3, 5), torch.bool)]),
    ("TransformerDecoderLayer", {}, [f(4, 3, 16), f(5, 3, 16), f(4, 4), None, None, None]),
    ("EmbeddingBag", {"mode": "sum"}, [i(8), i(3), None]),
    ("Conv1d", {"kernel_size": [2], "stride": [2], "padding": [1], "padding_mode": "circular"}, [f(2, 4, 9)]),
    ("Conv3d", {"kernel_size": [1, 2, 3], "groups": 2}, [f(1, 4, 4, 4, 4)]),
    ("ConvTranspose2d", {"stride": [2, 1], "output_padding": [1, 0]}, [f(1, 4, 5, 5)]),
    ("ZeroPad2d", {"padding": [1, 2, 3, 4]}, [f(1, 2, 3, 3)]),
    ("Upsample", {"scale_factor": None, "size": [3, 5], "mode": "bilinear"}, [f(1, 2, 4, 4)]),
    ("LPPool2d", {"kernel_size": [2, 3], "stride": [1, 2]}, [f(1, 2, 6, 7)]),
])
def test_variants_and_optional_ports_match_a_cpu_forward(type_name, overrides, ins):
    assert_matches_cpu(type_name, overrides, ins)


def test_optional_ports_change_what_is_passed():
    lstm = CATALOG["LSTM"]
    p = lstm.resolve({"hidden_size": 8})
    with_state = lstm.infer_ports(p, [f(5, 3, 10), f(1, 3, 8), f(1, 3, 8)])
    assert with_state["h"].shape == (1, 3, 8)
    with pytest.raises(ShapeError, match=r"^LSTM: Expected hidden\[0\] size"):
        lstm.infer_ports(p, [f(5, 3, 10), f(1, 2, 8), f(1, 2, 8)])
    with pytest.raises(ShapeError, match="^LSTM needs h0 and c0 connected together, or neither$"):
        lstm.infer_ports(p, [f(5, 3, 10), f(1, 3, 8), None])
    # The ports are what their names say (h is projected, c is not), whatever output_path says.
    projected = lstm.infer_ports(lstm.resolve({"hidden_size": 8, "proj_size": 3, "num_layers": 2}),
                                 [f(5, 3, 10), None, None])
    assert projected == {"output": f(5, 3, 3), "h": f(2, 3, 3), "c": f(2, 3, 8)}
    cell = CATALOG["LSTMCell"]
    assert cell.infer_ports(cell.resolve({"hidden_size": 8}), [f(3, 10), f(3, 8), f(3, 8)]) == {"h": f(3, 8),
                                                                                                "c": f(3, 8)}
    mha = CATALOG["MultiheadAttention"]
    q = [f(5, 3, 16)] * 3
    assert "weights" not in mha.infer_ports(mha.resolve({"need_weights": False}), q + [None, None])
    with pytest.raises(ShapeError, match="^MultiheadAttention: "):
        mha.infer_ports(mha.resolve({}), q + [None, TensorSpec((4, 4), torch.bool)])   # a mask of the wrong size


def test_a_long_sequence_is_inferred_without_running_every_step():
    """Recurrent layers (and CrossMapLRN2d, over channels) loop one dispatch per step, about a
    millisecond each on meta: the looped dimension is cut to one step for the run."""
    lstm = CATALOG["LSTM"]
    start = time.perf_counter()
    outs = lstm.infer_ports(lstm.resolve({"num_layers": 3}), [f(200_000, 2, 10), None, None])
    first = lstm.infer_ports(lstm.resolve({"batch_first": True}), [f(2, 100_000, 10), None, None])
    assert time.perf_counter() - start < 20
    assert outs["output"].shape == (200_000, 2, 16) and outs["h"].shape == (3, 2, 16)
    assert first["output"].shape == (2, 100_000, 16)
    gru = CATALOG["GRU"]
    assert gru.infer_ports(gru.resolve({}), [f(50_000, 10), None])["output"].shape == (50_000, 16)
    lrn = CATALOG["CrossMapLRN2d"]
    assert lrn.infer_ports(lrn.resolve({}), [f(1, 1 << 30, 2, 2)]) == {"out": f(1, 1 << 30, 2, 2)}
    assert time.perf_counter() - start < 30


# -- hostile and impossible hyperparameters -------------------------------------------
@pytest.mark.parametrize("type_name, overrides, ins, fragment", [
    ("MultiheadAttention", {"embed_dim": 10, "num_heads": 3}, [f(5, 3, 10)] * 3 + [None, None], "divisible"),
    ("Conv1d", {"kernel_size": [9]}, [f(2, 4, 8)], "kernel size"),
    ("Conv1d", {}, [f(2, 5, 8)], "channel"),
    ("LSTM", {}, [f(10), None, None], "2D or 3D"),
    ("Unflatten", {"unflattened_size": [3, 4]}, [f(3, 10)], "don't multiply up"),
    ("FractionalMaxPool2d", {"output_ratio": None}, [f(2, 3, 8, 8)], "output size"),
    ("Upsample", {"scale_factor": None}, [f(2, 3, 4, 4)], "size or scale_factor"),
    ("PixelShuffle", {"upscale_factor": 3}, [f(2, 8, 3, 3)], "upscale_factor"),
    ("GroupNorm", {"num_groups": 3}, [f(2, 4, 5)], "divisible"),
    ("AdaptiveLogSoftmaxWithLoss", {"cutoffs": [20]}, [f(3, 10), i(3)], "cutoffs"),
    ("Bilinear", {}, [TensorSpec((3, 10), torch.float64), f(3, 10)], ""),
    ("CrossEntropyLoss", {}, [f(3, 5), f(3, 7)], ""),
    ("EmbeddingBag", {}, [f(2, 4), None, None], ""),
    ("TransformerEncoderLayer", {"d_model": 16}, [f(5, 3, 12), None, None], ""),
    ("Fold", {"output_size": [1 << 40, 1 << 40]}, [f(2, 8, 12)], ""),
    ("MaxPool1d", {"kernel_size": [1 << 40]}, [f(2, 3, 8)], ""),
])
def test_impossible_settings_are_one_sentence_naming_the_block(type_name, overrides, ins, fragment):
    spec = CATALOG[type_name]
    params = spec.resolve(overrides)
    assert all(p.validate(params[p.name]) is None for p in spec.params)
    with pytest.raises(ShapeError) as caught:
        spec.infer_ports(params, ins)
    message = str(caught.value)
    assert message.startswith(type_name), message
    assert "\n" not in message and "Traceback" not in message and len(message) < 400, message
    assert fragment.lower() in message.lower()
    # Refused by torch too (giant windows are not tried on the CPU), and the refusal is remembered.
    if not any(isinstance(v, list) and max(v) > 1000 for v in overrides.values()):
        with pytest.raises(Exception):
            cpu_truth(spec, params, tensors_for(type_name, ins))
    before = meta_infer._run.cache_info().hits
    with pytest.raises(ShapeError):
        spec.infer_ports(params, ins)
    assert meta_infer._run.cache_info().hits == before + (type_name in GENERATED)


@pytest.mark.parametrize("type_name, name, value", [
    ("Conv1d", "out_channels", 1 << 30), ("LSTM", "hidden_size", 1 << 25), ("Bilinear", "in1_features", 10 ** 12),
    ("EmbeddingBag", "num_embeddings", 1 << 40), ("MultiheadAttention", "embed_dim", 1 << 26),
    ("Transformer", "num_encoder_layers", 10 ** 6), ("LSTM", "num_layers", 65), ("PReLU", "num_parameters", 1 << 30),
    ("Upsample", "mode", "cubic"), ("AlphaDropout", "p", 1.5), ("Unflatten", "unflattened_size", [2] * 9),
])
def test_out_of_range_hyperparameters_are_refused_by_validation(type_name, name, value):
    problem = CATALOG[type_name].param(name).validate(value)
    assert problem and problem.startswith(f"'{name}' must"), problem


def test_a_giant_but_valid_layer_costs_nothing_to_check_and_reports_its_parameters():
    spec = CATALOG["LSTM"]
    params = spec.resolve({"hidden_size": MAX_FEATURES, "num_layers": 4})
    ins = [f(5, 3, 10), None, None]
    start = time.perf_counter()
    shapes = spec.param_shapes(params, ins)
    assert time.perf_counter() - start < 20
    assert shapes["weight_ih_l0"] == (4 * MAX_FEATURES, 10)
    assert shapes["weight_hh_l3"] == (4 * MAX_FEATURES, MAX_FEATURES)
    bilinear = CATALOG["Bilinear"]   # hand-written: torch's meta kernel loops over out_features
    p = bilinear.resolve({"in1_features": MAX_FEATURES, "in2_features": MAX_FEATURES, "out_features": MAX_FEATURES})
    assert bilinear.param_shapes(p, [f(1, MAX_FEATURES), f(1, MAX_FEATURES)])["weight"] == (MAX_FEATURES,) * 3
    # Beyond what one tensor can address at all: a sentence, not a crash.
    conv = CATALOG["Conv1d"]
    p = conv.resolve({"in_channels": MAX_FEATURES, "out_channels": MAX_FEATURES, "kernel_size": [1 << 30]})
    with pytest.raises(ShapeError, match="^Conv1d: .*overflow"):
        conv.param_shapes(p, [f(1, MAX_FEATURES, 1 << 30)])


def test_the_memory_budget_counts_generated_blocks():
    doc, ids = chain_project([("Conv1d", {"in_channels": 4, "out_channels": 1 << 20, "kernel_size": [64]})],
                             shape=(2, 4, 100))
    need = 4 * ((1 << 20) * 4 * 64 + (1 << 20))
    try:
        set_memory_budget(need - 1)
        (error,) = check(doc.project).errors
        assert error.node_id == ids[0] and "memory budget" in error.message
        with pytest.raises(GraphError, match="memory budget"):
            compile_project(doc.project)
        set_memory_budget(need)
        assert check(doc.project).ok
    finally:
        set_memory_budget(None)
    doc, ids = chain_project([("Conv1d", {"out_channels": 1 << 30})], shape=(2, 4, 8))
    (error,) = check(doc.project).errors
    assert "'out_channels' must be between 1 and 16,777,216" in error.message


def test_a_generated_block_compiles_and_runs_in_a_chain():
    doc, _ = chain_project([("Conv1d", {"out_channels": 6}), ("SiLU", {}), ("AdaptiveMaxPool1d", {"output_size": [2]}),
                            ("Flatten", {}), ("Linear", {"out_features": 3})], shape=(2, 4, 9))
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    net = compile_project(doc.project)
    assert net(torch.rand(2, 4, 9)).shape == (2, 3)


# -- constructor arguments ------------------------------------------------------------
def test_lists_become_what_torch_takes():
    def built(type_name, **overrides):
        spec = CATALOG[type_name]
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return spec.make_module(spec.resolve(overrides))
    assert built("Conv1d").kernel_size == (3,)
    assert built("Conv3d", kernel_size=[1, 2, 3], stride=[2]).kernel_size == (1, 2, 3)
    assert built("Conv3d", stride=[2]).stride == (2, 2, 2)
    assert built("ZeroPad2d", padding=[1, 2, 3, 4]).padding == (1, 2, 3, 4)
    assert built("Unflatten", unflattened_size=[5, 2]).unflattened_size == (5, 2)
    assert built("MaxPool3d", kernel_size=[2]).kernel_size == 2
    # A bare int is accepted where torch takes one (a hand-edited file), and passed as it is.
    assert CATALOG["Conv3d"].param("kernel_size").validate(3) is None
    assert built("Conv3d", kernel_size=3).kernel_size == (3, 3, 3)
    assert CATALOG["Conv3d"].param("kernel_size").validate(0) == "'kernel_size' must be between 1 and 1099511627776, not 0"
    assert CATALOG["Unflatten"].param("unflattened_size").validate(3) is not None   # torch wants a tuple
    assert CATALOG["Conv2d"].param("kernel_size").validate(3) is not None           # hand-written: lists only
    assert built("TransformerEncoder", num_layers=3, norm=True).norm is not None
    assert len(built("TransformerEncoder", num_layers=3).layers) == 3
    assert built("Transformer", activation="gelu").encoder.layers[0].activation_relu_or_gelu == 2
    assert built("MultiheadAttention", kdim=5).kdim == 5


def test_generated_parameters_come_from_the_signatures():
    conv = CATALOG["Conv1d"]
    assert [p.name for p in conv.params] == ["in_channels", "out_channels", "kernel_size", "stride", "padding",
                                             "dilation", "groups", "bias", "padding_mode"]
    assert conv.param("padding_mode").choices == ("zeros", "reflect", "replicate", "circular")
    assert conv.param("kernel_size").length == (1, 1) and conv.param("padding").minimum == 0
    assert conv.param("out_channels").maximum == MAX_FEATURES
    assert CATALOG["Conv3d"].param("kernel_size").length == (1, 3)
    assert CATALOG["ZeroPad2d"].param("padding").length == (1, 4)
    assert CATALOG["MSELoss"].param("reduction").choices == ("mean", "sum", "none")
    assert "batchmean" in CATALOG["KLDivLoss"].param("reduction").choices
    assert CATALOG["Embedding"].params[0].name == "num_embeddings"
    assert CATALOG["EmbeddingBag"].param("padding_idx").optional
    for name, spec in CATALOG.items():   # left out: device, dtype, tensors, deprecated and fixed arguments
        if spec.module_class is None:
            continue
        names = {p.name for p in spec.params}
        assert not names & {"device", "dtype", "size_average", "reduce", "inplace", "return_indices", "weight"}, name
    assert CATALOG["LSTM"].param("num_layers").maximum == torch_nn_tables.MAX_LAYERS
    assert "Number of channels" in conv.param("in_channels").doc
    assert inspect.getdoc(nn.Conv1d).startswith(conv.description[:-1].split(" input")[0])


def test_meta_inference_is_cached_and_bounded():
    assert meta_infer._run.cache_info().maxsize == meta_infer.CACHE_SIZE == 4096
    spec = CATALOG["GroupNorm"]
    params = spec.resolve({"num_channels": 6, "num_groups": 3})
    spec.infer_ports(params, [f(2, 6, 5)])
    hits = meta_infer._run.cache_info().hits
    assert spec.infer_ports(dict(reversed(list(params.items()))), [f(2, 6, 5)]) == {"out": f(2, 6, 5)}
    assert spec.param_shapes(params, [f(2, 6, 5)]) == {"weight": (6,), "bias": (6,)}
    assert meta_infer._run.cache_info().hits == hits + 2
    result = meta_infer.infer(torch_nn_recipe("BatchNorm3d"), CATALOG["BatchNorm3d"].defaults(), [f(2, 4, 2, 2, 2)])
    assert result.buffers == {"running_mean": (4,), "running_var": (4,), "num_batches_tracked": ()}
    assert result.parameters == {"weight": (4,), "bias": (4,)}


def torch_nn_recipe(type_name: str):
    """The Recipe a generated block's closures use (found through its infer function)."""
    infer = CATALOG[type_name].infer
    cells = dict(zip(infer.__code__.co_freevars, (c.cell_contents for c in infer.__closure__)))
    return cells["recipe"]
