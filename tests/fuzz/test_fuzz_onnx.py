"""Fuzzing ONNX imports: whatever the file, ``import_source`` gives a project or one ``ImportFailed`` sentence.

Inputs are an ONNX file torch exports for a small CNN, damaged byte by byte
(flips, cuts, insertions) and field by field (attributes, dimensions, operator
types and wiring replaced by hostile values).  For each one, the import returns
or raises ``NetStudioError`` with a one-line message (never another exception),
well within :data:`SECONDS`.  ``FUZZ_EXAMPLES=2500`` fuzzes longer.
"""

from __future__ import annotations

import io
import os
import time
import warnings
from collections import Counter

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

onnx = pytest.importorskip("onnx")

from netstudio.errors import NetStudioError  # noqa: E402
from netstudio.importer import import_source  # noqa: E402
from netstudio.importer.onnx_ops import OPS  # noqa: E402

SECONDS = 10.0
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 150)), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
FIGURES: Counter = Counter()
HOSTILE_INTS = [0, 1, -1, 2, 3, 7, -7, 1 << 31, -(1 << 31), (1 << 62), 1 << 40]


def _model_bytes() -> bytes:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16, 3), nn.Softmax(-1)).eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 2, 4, 4),), buffer, dynamo=False, opset_version=13,
                          do_constant_folding=False)
    return buffer.getvalue()


BASE = _model_bytes()


def attempt(path) -> None:
    start = time.monotonic()
    try:
        import_source(str(path), (), "float32")
        FIGURES["imported"] += 1
    except NetStudioError as err:
        message = str(err)
        assert "\n" not in message and message.endswith("."), message
        assert len(message) < 1000, message
        FIGURES["refused"] += 1
    assert time.monotonic() - start < SECONDS


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert"]), st.integers(0, len(BASE) - 1),
                          st.binary(min_size=1, max_size=8)), min_size=1, max_size=4))
def test_damaged_bytes_import_or_are_one_sentence(tmp_path, edits):
    data = bytearray(BASE)
    for kind, at, payload in edits:
        at %= max(len(data), 1)
        if kind == "flip":
            data[at:at + len(payload)] = bytes(a ^ b for a, b in zip(data[at:at + len(payload)], payload))
        elif kind == "cut":
            del data[at:]
        else:
            data[at:at] = payload
    path = tmp_path / "fuzz.onnx"
    path.write_bytes(bytes(data))
    attempt(path)


@FUZZ
@given(st.data())
def test_hostile_fields_import_or_are_one_sentence(tmp_path, data):
    model = onnx.ModelProto()
    model.ParseFromString(BASE)
    graph = model.graph
    values = [v for n in graph.node for v in (*n.input, *n.output)] + ["", "nowhere"]
    for _ in range(data.draw(st.integers(1, 4))):
        node = graph.node[data.draw(st.integers(0, len(graph.node) - 1))]
        what = data.draw(st.sampled_from(["attribute", "op", "input", "dims", "opset", "raw"]))
        if what == "attribute" and node.attribute:
            a = node.attribute[data.draw(st.integers(0, len(node.attribute) - 1))]
            if a.type == onnx.AttributeProto.INTS:
                del a.ints[:]
                a.ints.extend(data.draw(st.lists(st.sampled_from(HOSTILE_INTS), max_size=6)))
            elif a.type == onnx.AttributeProto.INT:
                a.i = data.draw(st.sampled_from(HOSTILE_INTS))
            elif a.type == onnx.AttributeProto.FLOAT:
                a.f = data.draw(st.sampled_from([0.0, -1.0, float("nan"), float("inf"), 1e30]))
        elif what == "op":
            node.op_type = data.draw(st.sampled_from(sorted(OPS)))
        elif what == "input" and node.input:
            node.input[data.draw(st.integers(0, len(node.input) - 1))] = data.draw(st.sampled_from(values))
        elif what == "dims" and graph.initializer:
            t = graph.initializer[data.draw(st.integers(0, len(graph.initializer) - 1))]
            del t.dims[:]
            t.dims.extend(data.draw(st.lists(st.sampled_from(HOSTILE_INTS), max_size=4)))
        elif what == "opset":
            model.opset_import[0].version = data.draw(st.sampled_from([1, 6, 7, 9, 11, 12, 13, 17, 18, 20, 99]))
        elif what == "raw" and graph.initializer:
            t = graph.initializer[data.draw(st.integers(0, len(graph.initializer) - 1))]
            t.data_type = data.draw(st.sampled_from([1, 2, 6, 7, 9, 10, 11, 16, 8, 0, 99]))
    path = tmp_path / "fuzz.onnx"
    path.write_bytes(model.SerializeToString())
    attempt(path)


def test_figures():
    """Run last (``-s`` prints them): how many fuzzed files imported and how many were refused."""
    print(f"\nONNX fuzz: {dict(FIGURES)}")
