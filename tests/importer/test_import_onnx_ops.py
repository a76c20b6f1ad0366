"""Each ONNX operator the table holds, in a small hand-written graph, against onnxruntime.

torch's exports of the MLP and CNN (``test_import_onnx.py``) cover the common
operators; these cover the variants other exporters write: attributes that
became inputs in later operator sets, uneven and automatic padding, negative
axes, constants in every form.  Each graph must import as blocks only and give
onnxruntime's outputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from netstudio.analysis import check  # noqa: E402
from netstudio.compiler import compile_project  # noqa: E402
from netstudio.importer import import_source  # noqa: E402

RNG = np.random.default_rng(0)


def f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def i64(*values):
    return np.asarray(values, dtype=np.int64)


def node(op, inputs, outputs=("y",), **attrs):
    return helper.make_node(op, list(inputs), list(outputs), **attrs)


# id: (nodes, {input: shape} or {input: (shape, onnx type)}, {initializer: array}, opset, blocks expected)
CASES = {
    "conv-same-upper-strided": ([node("Conv", ["x", "w", "b"], auto_pad="SAME_UPPER", strides=[2, 2])],
                                {"x": [1, 2, 8, 8]}, {"w": f32(3, 2, 3, 3), "b": f32(3)}, 17, {"Conv2d"}),
    "conv-same-lower": ([node("Conv", ["x", "w"], auto_pad="SAME_LOWER", strides=[2])],
                        {"x": [1, 2, 8]}, {"w": f32(3, 2, 2)}, 17, {"Conv1d"}),
    "conv-uneven-pads-1d": ([node("Conv", ["x", "w"], pads=[0, 2], dilations=[2])],
                            {"x": [2, 2, 9]}, {"w": f32(4, 2, 3)}, 17, {"Conv1d"}),
    "conv-transpose": ([node("ConvTranspose", ["x", "w", "b"], strides=[2, 2], pads=[1, 1, 1, 1],
                             output_padding=[1, 1])],
                       {"x": [1, 4, 5, 5]}, {"w": f32(4, 3, 3, 3), "b": f32(3)}, 17, {"ConvTranspose2d"}),
    "average-pool-excluding-pads": ([node("AveragePool", ["x"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                          strides=[2, 2])],
                                    {"x": [1, 2, 6, 6]}, {}, 17, {"Function"}),
    "max-pool-ceil": ([node("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)],
                      {"x": [1, 1, 8, 8]}, {}, 17, {"MaxPool2d"}),
    "global-max-pool": ([node("GlobalMaxPool", ["x"])], {"x": [2, 3, 4, 5]}, {}, 17, {"AdaptiveMaxPool2d"}),
    "batch-norm-1d": ([node("BatchNormalization", ["x", "s", "b", "m", "v"], epsilon=1e-3)],
                      {"x": [4, 3]}, {"s": f32(3), "b": f32(3), "m": f32(3), "v": np.abs(f32(3)) + 0.5},
                      15, {"BatchNorm1d"}),
    "instance-norm": ([node("InstanceNormalization", ["x", "s", "b"])],
                      {"x": [2, 3, 4, 4]}, {"s": f32(3), "b": f32(3)}, 17, {"InstanceNorm2d"}),
    "layer-norm-two-axes": ([node("LayerNormalization", ["x", "s"], axis=-2, epsilon=1e-4)],
                            {"x": [2, 3, 4]}, {"s": f32(3, 4)}, 17, {"LayerNorm"}),
    "gemm-transposed-scaled": ([node("Gemm", ["x", "w", "c"], alpha=0.5, beta=2.0, transA=1)],
                               {"x": [3, 2]}, {"w": f32(3, 4), "c": f32(1, 4)}, 13, {"Linear"}),
    "gemm-of-two-inputs": ([node("Gemm", ["x", "z"], transB=1)], {"x": [2, 3], "z": [4, 3]}, {}, 13, {"MatMul"}),
    "matmul-add-fused": ([node("MatMul", ["x", "w"], ["h"]), node("Add", ["h", "b"])],
                         {"x": [2, 5, 3]}, {"w": f32(3, 4), "b": f32(4)}, 17, {"Linear"}),
    "prelu-per-channel": ([node("PRelu", ["x", "s"])], {"x": [2, 3, 4, 4]}, {"s": f32(3, 1, 1)}, 17, {"PReLU"}),
    "embedding": ([node("Gather", ["table", "ids"])], {"ids": ([2, 5], TensorProto.INT64)}, {"table": f32(10, 4)},
                  17, {"Embedding"}),
    "activations": ([node("LeakyRelu", ["x"], ["a"], alpha=0.2), node("Elu", ["a"], ["b"], alpha=0.5),
                     node("HardSigmoid", ["b"], ["c"], alpha=1 / 6, beta=0.5), node("HardSwish", ["c"], ["d"]),
                     node("Softplus", ["d"], ["e"]), node("Gelu", ["e"], ["f"], approximate="tanh"),
                     node("Clip", ["f", "lo", "hi"], ["g"]), node("Mish", ["g"], ["h"]),
                     node("Clip", ["h", "zero"], ["k"]), node("Softsign", ["k"])],
                    {"x": [3, 4]}, {"lo": np.float32(-0.5), "hi": np.float32(0.75), "zero": np.float32(0)}, 20,
                    {"LeakyReLU", "ELU", "Hardsigmoid", "Hardswish", "Softplus", "GELU", "Hardtanh", "ReLU"}),
    "clip-before-opset-11": ([node("Clip", ["x"], min=0.0, max=6.0)], {"x": [3, 4]}, {}, 10, {"ReLU6"}),
    "dropout-with-ratio-input": ([node("Dropout", ["x", "r"], ["y", "mask"])], {"x": [3, 4]},
                                 {"r": np.float32(0.3)}, 13, {"Dropout"}),
    "softmax-before-opset-13": ([node("Softmax", ["x"], axis=1), ], {"x": [2, 3, 4]}, {}, 11, {"Softmax"}),
    "log-softmax": ([node("LogSoftmax", ["x"], axis=1)], {"x": [2, 3, 4]}, {}, 13, {"LogSoftmax"}),
    "arithmetic": ([node("Sub", ["two", "x"], ["a"]), node("Div", ["a", "x"], ["b"]), node("Pow", ["b", "two"], ["c"]),
                    node("Reciprocal", ["c"], ["d"]), node("Neg", ["d"], ["e"]), node("Abs", ["e"], ["f"]),
                    node("Sqrt", ["f"], ["g"]), node("Exp", ["g"], ["h"]), node("Log", ["h"], ["k"]),
                    node("Sum", ["k", "x", "m"], ["s"]), node("Mean", ["s", "x"], ["t"]), node("Mul", ["t", "m"])],
                   {"x": [3, 4]}, {"two": np.float32(2), "m": f32(4)}, 17, {"Parameter"}),
    "integer-division": ([node("Cast", ["x"], ["n"], to=TensorProto.INT64), node("Div", ["n", "three"], ["q"]),
                          node("Cast", ["q"], to=TensorProto.FLOAT)],
                         {"x": [2, 5]}, {"three": i64(3)}, 17, set()),
    "comparisons-and-where": ([node("Greater", ["x", "zero"], ["p"]), node("Less", ["x", "z"], ["q"]),
                               node("Equal", ["p", "q"], ["e"]), node("Where", ["e", "x", "z"])],
                              {"x": [3, 4], "z": [3, 4]}, {"zero": np.float32(0)}, 17, set()),
    "reductions": ([node("ReduceMean", ["x"], ["a"], axes=[1], keepdims=0), node("ReduceSum", ["x", "ax"], ["b"]),
                    node("ReduceMax", ["x"], ["c"], axes=[-1]), node("ArgMax", ["x"], ["d"], axis=2, keepdims=0),
                    node("Cast", ["d"], ["e"], to=TensorProto.FLOAT),
                    node("Flatten", ["b"], ["bf"], axis=1), node("Flatten", ["c"], ["cf"], axis=1),
                    node("Concat", ["a", "bf", "cf", "e"], axis=1)],
                   {"x": [2, 3, 4]}, {"ax": i64(1, 2)}, 13, {"Concat"}),
    "shapes": ([node("Flatten", ["x"], ["a"], axis=0), node("Flatten", ["x"], ["b"], axis=2),
                node("Flatten", ["x"], ["c"], axis=-1), node("Reshape", ["a", "shape"], ["d"]),
                node("Transpose", ["d"], ["e"]), node("Unsqueeze", ["e", "ax"], ["f"]),
                node("Squeeze", ["f", "ax"], ["g"]), node("Reshape", ["b", "keep"], ["h"]),
                node("Reshape", ["c", "keep"], ["k"]), node("Concat", ["h", "k"], ["hk"], axis=-1),
                node("Reshape", ["hk", "back"], ["m"]), node("Concat", ["g", "g"], ["gg"], axis=0),
                node("Add", ["m", "gg"])],
               {"x": [2, 3, 4]}, {"shape": i64(4, 6), "ax": i64(0, -1), "keep": i64(0, -1), "back": i64(12, 4)},
               13, set()),
    "slices-and-splits": ([node("Slice", ["x", "st", "en", "axs", "stp"], ["a"]),
                           node("Split", ["x", "parts"], ["p", "q"], axis=1),
                           node("Gather", ["q", "one"], ["r"], axis=2),
                           node("Gather", ["p", "idx"], ["s"], axis=-1), node("Identity", ["s"], ["t"]),
                           node("Slice", ["x", "st2", "en2"], ["u"])],
                          {"x": [2, 6, 5]},
                          {"st": i64(1, -4), "en": i64(9223372036854775807, -1), "axs": i64(1, 2), "stp": i64(2, 1),
                           "parts": i64(2, 4), "one": i64(3), "idx": i64(0, 4, -1), "st2": i64(-1), "en2": i64(-100)},
                          13, set(), ["a", "r", "t", "u"]),
    "split-before-opset-13": ([node("Split", ["x"], ["a", "b", "c"], axis=-1)], {"x": [2, 6]}, {}, 11, set(),
                              ["a", "b", "c"]),
    "pads": ([node("Pad", ["x", "pads"], ["a"]), node("Pad", ["x", "pads2", "val"], ["b"], mode="constant"),
              node("Pad", ["x", "pads3"], ["c"], mode="reflect"), node("Pad", ["x", "pads3"], ["d"], mode="edge")],
             {"x": [1, 2, 4, 4]},
             {"pads": i64(0, 0, 1, 2, 0, 0, 2, 1), "pads2": i64(0, 0, 0, 1, 0, 0, 0, 3), "val": np.float32(-1.5),
              "pads3": i64(0, 0, 1, 1, 0, 0, 1, 1)}, 13, set(), ["a", "b", "c", "d"]),
    "constants-and-shape-arithmetic": (
        [node("Shape", ["x"], ["s"]), node("Gather", ["s", "zero"], ["n"]),
         node("Constant", [], ["k"], value_ints=[-1]),
         node("Unsqueeze", ["n", "zero1"], ["n1"]), node("Concat", ["n1", "k"], ["shape"], axis=0),
         node("Reshape", ["x", "shape"], ["flat"]), node("ConstantOfShape", ["cols"], ["ones"],
                                                         value=numpy_helper.from_array(np.array([0.5], np.float32))),
         node("Constant", [], ["c"], value_float=2.0), node("Mul", ["ones", "c"], ["twos"]),
         node("Range", ["r0", "r1", "r2"], ["rng"]), node("Cast", ["rng"], ["rf"], to=TensorProto.FLOAT),
         node("Add", ["twos", "rf"], ["bias"]), node("Add", ["flat", "bias"], ["y0"]),
         node("Expand", ["e1", "eshape"], ["e"]), node("Tile", ["y0", "reps"], ["y1"]), node("Mul", ["y1", "e"]),
         ],
        {"x": [2, 3, 4]}, {"zero": i64(0)[0], "zero1": i64(0), "cols": i64(12), "r0": i64(0)[0], "r1": i64(12)[0],
                           "r2": i64(1)[0], "e1": f32(1, 1), "eshape": i64(2, 24), "reps": i64(1, 2)},
        13, set()),
    "one-value-of-more-dimensions": ([node("Mul", ["x", "c"])], {"x": [3, 4]},
                                     {"c": np.full((1, 1, 1), 2.5, np.float32)}, 17, set()),
    "einsum": ([node("Einsum", ["x", "z"], equation="bij,bjk->bik")], {"x": [2, 3, 4], "z": [2, 4, 5]}, {}, 13, set()),
    "expand-a-computed-tensor": ([node("Expand", ["x", "shape"])], {"x": [3, 1]}, {"shape": i64(2, 3, 4)}, 13, set()),
}


def build(tmp_path, case):
    nodes, inputs, inits, opset, _, *outputs = case
    outputs = outputs[0] if outputs else ["y"]
    infos = [helper.make_tensor_value_info(name, *(spec[::-1] if isinstance(spec, tuple) else
                                                   (TensorProto.FLOAT, spec))) for name, spec in inputs.items()]
    graph = helper.make_graph(nodes, "case", infos, [helper.make_empty_tensor_value_info(o) for o in outputs],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    path = tmp_path / "case.onnx"
    path.write_bytes(model.SerializeToString())
    feeds = {name: (RNG.integers(0, 10, spec[0]).astype(np.int64) if isinstance(spec, tuple) else f32(*spec))
             for name, spec in inputs.items()}
    return path, feeds


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_operator_imports_as_blocks_with_onnxruntimes_outputs(tmp_path, case):
    path, feeds = build(tmp_path, CASES[case])
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    result = import_source(str(path), (), "float32")
    assert result.fallbacks == [] and result.problems == []
    assert check(result.project).ok
    types = {n.type for n in result.project.root_definition.nodes.values()}
    assert CASES[case][4] <= types, types
    compiled = compile_project(result.project)
    compiled.load_state_dict(result.weights, strict=True)
    compiled.eval()
    with torch.no_grad():
        got = compiled(*[torch.from_numpy(v) for v in feeds.values()])
    got = list(got) if isinstance(got, tuple) else [got]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert tuple(g.shape) == e.shape and str(g.dtype).endswith(str(e.dtype))
        np.testing.assert_allclose(g.numpy(), e, atol=1e-5, rtol=1e-5)


def test_a_pooling_no_block_expresses_is_a_code_block_of_torch_nn_with_the_same_outputs(tmp_path):
    case = ([node("MaxPool", ["x"], kernel_shape=[2, 2], dilations=[2, 2])], {"x": [1, 1, 7, 7]}, {}, 17, set())
    path, feeds = build(tmp_path, case)
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    result = import_source(str(path), (), "float32")
    assert [f.line() for f in result.fallbacks] == ["max_pool (MaxPool2d): no block expresses this nn.MaxPool2d"]
    assert "class MaxPool2d(nn.MaxPool2d)" in result.project.code["MaxPool2d"]   # torch's own, not the file's
    compiled = compile_project(result.project)
    compiled.load_state_dict(result.weights)
    with torch.no_grad():
        np.testing.assert_allclose(compiled(torch.from_numpy(feeds["x"])).numpy(), expected, atol=1e-6)


def gelu_as_erf(half: float):
    return [node("Div", ["x", "root2"], ["d"]), node("Erf", ["d"], ["e"]), node("Add", ["e", "one"], ["a"]),
            node("Mul", ["x", "a"], ["m"]), node("Mul", ["m", "half"])], \
        {"x": [2, 5]}, {"root2": np.float32(2 ** 0.5), "one": np.float32(1), "half": np.float32(half)}, 13, {"GELU"}


def test_gelu_written_with_erf_is_one_gelu_block_and_nothing_like_it_is(tmp_path):
    path, feeds = build(tmp_path, gelu_as_erf(0.5))
    result = import_source(str(path), (), "float32")
    assert sorted(n.type for n in result.project.root_definition.nodes.values()) == ["GELU", "Input", "Output"]
    path, _ = build(tmp_path, gelu_as_erf(0.25))   # not GELU: Erf has no block, and says so
    with pytest.raises(Exception, match="The ONNX file uses operator NetStudio cannot import: Erf."):
        import_source(str(path), (), "float32")


def test_a_module_is_named_after_its_initializers_when_the_node_has_no_name(tmp_path):
    case = ([node("Gemm", ["x", "encoder.layer.weight", "encoder.layer.bias"], transB=1), ],
            {"x": [2, 3]}, {"encoder.layer.weight": f32(4, 3), "encoder.layer.bias": f32(4)}, 13, {"Linear"})
    path, _ = build(tmp_path, case)
    result = import_source(str(path), (), "float32")
    assert list(result.weights) == ["encoder_layer.weight", "encoder_layer.bias"]


def test_one_initializer_used_by_two_layers_and_as_a_tensor_is_three_copies_that_save(tmp_path):
    from safetensors.torch import save_file

    from netstudio.serialization import load_project_and_weights, save_project
    case = ([node("Gemm", ["x", "w", "b"], ["p"], transB=1), node("Gemm", ["x", "w"], ["q"], transB=1),
             node("Reshape", ["w", "flat"], ["wf"]), node("Reshape", ["ids", "flat"], ["idf"]),
             node("Cast", ["idf"], ["idc"], to=TensorProto.INT64), node("Add", ["p", "q"], ["s"]),
             node("ReduceSum", ["wf", "axis"], ["ws"], keepdims=0), node("Add", ["s", "ws"], ["t"]),
             node("Cast", ["ids"], ["idg"], to=TensorProto.FLOAT), node("ReduceSum", ["idg"], ["g"], keepdims=0),
             node("Add", ["t", "g"])],
            {"x": [2, 3]}, {"w": f32(3, 3), "b": f32(3), "flat": i64(-1), "ids": np.arange(9, dtype=np.int64),
                            "axis": i64(0)}, 13, {"Linear"})
    path, feeds = build(tmp_path, case)
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    result = import_source(str(path), (), "float32")
    save_file(result.weights, tmp_path / "weights.safetensors")   # refuses tensors that share memory
    save_project(result.project, tmp_path / "shared.netstudio", weights=result.weights)
    project, weights = load_project_and_weights(tmp_path / "shared.netstudio")
    compiled = compile_project(project)
    compiled.load_state_dict(weights)
    with torch.no_grad():
        np.testing.assert_allclose(compiled(torch.from_numpy(feeds["x"])).numpy(), expected, atol=1e-5)
