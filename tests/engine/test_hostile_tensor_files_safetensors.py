"""Hostile safetensors headers: every number in the header comes from the file, so each case must be
one sentence naming the problem, from ``open_checkpoint``, ``load_tensors`` and ``netstudio inspect``
alike, before the safetensors library or torch allocates anything."""

from __future__ import annotations

import contextlib
import io
import json
import struct

import pytest
import torch

from netstudio import cli
from netstudio.errors import FileFormatError
from netstudio.files.bounds import FileTooLargeError
from netstudio.files.checkpoint import open_checkpoint
from netstudio.files.tensor_io import load_tensors, save_tensors
from netstudio.limits import set_memory_budget
from tests.engine.test_hostile_tensor_files_builders import one_sentence, probe, safetensors_bytes

F32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
DATA = struct.pack("<2f", 1.0, 2.0)

CASES = {
    # name: (file bytes, words the sentence must contain)
    "length-2**63": (struct.pack("<Q", 2**63) + b"{}", "more than the 95.4 MB the format allows"),
    "length-2**64-1": (struct.pack("<Q", 2**64 - 1) + b"{}", "more than the 95.4 MB"),
    "length-past-end": (safetensors_bytes({"a": F32}, DATA, length=5000), "runs past the end of the file"),
    "length-short": (b"\x05\x00\x00", "shorter than the 8 bytes"),
    "nested-json": (safetensors_bytes(b"[" * 100_000 + b"]" * 100_000), "nests JSON too deeply"),
    "nested-metadata": (safetensors_bytes(b'{"__metadata__": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001),
                        "nests JSON too deeply"),
    "not-json": (safetensors_bytes(b"{not json"), "is not valid JSON"),
    "not-utf8": (safetensors_bytes(b'{"\xff": 1}'), "is not valid JSON"),
    "top-level-list": (safetensors_bytes(b"[1, 2]"), "is not a JSON object"),
    "entry-not-object": (safetensors_bytes({"a": [1, 2]}), "entry for 'a' is not a JSON object"),
    "no-dtype": (safetensors_bytes({"a": {"shape": [2], "data_offsets": [0, 8]}}, DATA), "'a' has no dtype"),
    "unknown-dtype": (safetensors_bytes({"a": {**F32, "dtype": "F128"}}, DATA), "tensors of type F128"),
    "negative-shape": (safetensors_bytes({"a": {**F32, "shape": [-2]}}, DATA), "shape of 'a' is not a list"),
    "float-shape": (safetensors_bytes({"a": {**F32, "shape": [2.0]}}, DATA), "shape of 'a' is not a list"),
    "bool-shape": (safetensors_bytes({"a": {**F32, "shape": [True, True]}}, DATA), "shape of 'a' is not a list"),
    "overflowing-shape": (safetensors_bytes({"a": {**F32, "shape": [2**62, 2**62, 2**62]}}, DATA),
                          "shape of 'a' does not match its 8 bytes"),
    "shape-disagrees": (safetensors_bytes({"a": {**F32, "shape": [3]}}, DATA), "does not match its 8 bytes"),
    "offsets-not-a-pair": (safetensors_bytes({"a": {**F32, "data_offsets": [0, 4, 8]}}, DATA),
                           "data_offsets of 'a' are not"),
    "offsets-reversed": (safetensors_bytes({"a": {**F32, "data_offsets": [8, 0]}}, DATA), "data_offsets of 'a'"),
    "offsets-past-end": (safetensors_bytes({"a": {**F32, "shape": [2**40], "data_offsets": [0, 2**42]}}, DATA),
                         "data of 'a' runs past the end"),
    "offsets-overlap": (safetensors_bytes({"a": F32, "b": F32}, DATA), "overlaps that of"),
    "offsets-gap": (safetensors_bytes({"a": {**F32, "shape": [1], "data_offsets": [4, 8]}}, DATA), "a gap"),
    "trailing-bytes": (safetensors_bytes({"a": {**F32, "shape": [1], "data_offsets": [0, 4]}}, DATA),
                       "4 bytes after its tensor data belong to no tensor"),
    "metadata-int": (safetensors_bytes({"__metadata__": {"epoch": 3}}), "metadata is not a set of text values"),
    "metadata-nested": (safetensors_bytes({"__metadata__": {"a": {"b": "c"}}}), "metadata is not a set of text"),
    "metadata-list": (safetensors_bytes({"__metadata__": ["a"]}), "metadata is not a set of text values"),
    "huge-number": (safetensors_bytes(b'{"a": {"dtype": "F32", "shape": [' + b"9" * 5000
                                      + b'], "data_offsets": [0, 8]}}', DATA), "is not valid JSON"),
}


def inspect_err(path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["inspect", str(path)])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_header_is_one_sentence_everywhere(tmp_path, case):
    data, words = CASES[case]
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(data)
    messages = []
    for read in (open_checkpoint, load_tensors):
        with pytest.raises(FileFormatError) as info:
            read(path)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and one_sentence(messages[0]), messages
    assert words in messages[0] and "'hostile.safetensors'" in messages[0]
    code, out, err = inspect_err(path)
    assert (code, out) == (2, "") and err == f"netstudio: {messages[0]}\n"


def test_an_overlong_header_is_not_read(tmp_path, monkeypatch):
    """A header declared at 2**63 bytes is refused from the length field alone."""
    path = tmp_path / "long.safetensors"
    path.write_bytes(struct.pack("<Q", 2**63) + b"{}")
    reads = []
    real_open = open

    def counting_open(*args, **kwargs):
        f = real_open(*args, **kwargs)
        original = f.read
        f.read = lambda n=-1: (reads.append(n), original(n))[1]
        return f

    monkeypatch.setattr("builtins.open", counting_open)
    with pytest.raises(FileTooLargeError):
        open_checkpoint(path)
    assert reads and max(reads) <= 9  # the first bytes (to tell the format), then the length field


def test_a_header_of_a_hundred_megabytes_of_nesting_ends_in_seconds(tmp_path):
    path = tmp_path / "deep.safetensors"
    path.write_bytes(safetensors_bytes(b"[" * 40_000_000 + b"]" * 40_000_000))
    (result,) = probe("open", path)
    assert result["outcome"] == "FileFormatError" and "nests JSON too deeply" in result["message"]


def test_files_beyond_the_memory_budget_are_refused_by_load_but_listed(tmp_path):
    path = tmp_path / "big.safetensors"
    save_tensors({"a": torch.zeros(1024), "b": torch.zeros(1024)}, path)
    set_memory_budget(6000)
    try:
        with pytest.raises(FileTooLargeError, match="8.0 KB for its tensors, more than the memory budget"):
            load_tensors(path)
        checkpoint = open_checkpoint(path)
        assert checkpoint.nbytes == 8192 and checkpoint["a"].load().shape == (1024,)
        set_memory_budget(1000)
        with pytest.raises(FileTooLargeError, match="for 'a'"):
            checkpoint["a"].load()
    finally:
        set_memory_budget(None)


def test_valid_files_with_metadata_and_empty_tensors_still_load(tmp_path):
    path = tmp_path / "ok.safetensors"
    header = {"__metadata__": {"format": "pt"}, "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
              "a": F32}
    path.write_bytes(safetensors_bytes(header, DATA))
    loaded = load_tensors(path)
    assert loaded["a"].tolist() == [1.0, 2.0] and loaded["e"].shape == (0, 3)
    assert open_checkpoint(path).metadata == {"format": "pt"}
    assert json.loads(json.dumps(open_checkpoint(path).metadata)) == {"format": "pt"}
