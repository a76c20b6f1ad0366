"""Shapes and indices as people type them, read one way by the app and the command line."""

from __future__ import annotations

import pytest
import torch

from netstudio.errors import NetStudioError, RunError
from netstudio.run.typed_text import parse_index, parse_shape
from netstudio.tensors.number_text import output_summary, tensor_text


@pytest.mark.parametrize("text", ["2, 20", "(2, 20)", "2x20", "2 20", "[2, 20]", "2×20"])
def test_every_usual_spelling_of_a_shape(text):
    assert parse_shape(text) == [2, 20]


@pytest.mark.parametrize("text", ["", "2, -3", "two", "2,,3", "0, 4", "1e3"])
def test_what_is_not_a_shape_is_one_sentence(text):
    with pytest.raises(RunError) as err:
        parse_shape(text)
    assert str(err.value).endswith("such as 2, 20.")


def test_the_command_line_allows_empty_dimensions():
    assert parse_shape("0,4", minimum=0) == [0, 4]


def test_indices():
    assert parse_index("[1][2]") == parse_index("1, 2") == parse_index("1 2") == (1, 2)
    for bad in ("", "a, b"):
        with pytest.raises(NetStudioError):
            parse_index(bad)


def test_outputs_as_text():
    assert output_summary(torch.zeros(2, 1)) == "Output: shape (2, 1) · float32 · cpu"
    assert tensor_text(torch.tensor([0.5, 1.0])) == "[0.5 1. ]"
