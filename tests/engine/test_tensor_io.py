"""save_tensors / load_tensors: round trips, aliasing, safety and damaged files."""

import json
import os
import pickle
import struct
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from netstudio.errors import FileFormatError, NetStudioError, UnsafeFileError
from netstudio.files.tensor_io import SAFETENSORS_DTYPES, load_tensors, save_tensors


class MakesFile:
    """Pickles to a call that creates ``marker`` when unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def assert_one_sentence(err: Exception) -> None:
    message = str(err)
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message


def sample(dtype: torch.dtype) -> torch.Tensor:
    return (torch.arange(-3, 3).reshape(2, 3) * 17).to(dtype)


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", list(SAFETENSORS_DTYPES.values()), ids=str)
def test_safetensors_round_trip_of_every_dtype(tmp_path, dtype):
    t = sample(dtype)
    save_tensors({"t": t}, tmp_path / "x.safetensors")
    back = load_tensors(tmp_path / "x.safetensors")["t"]
    assert back.dtype == dtype and back.shape == t.shape
    assert torch.equal(back.view(torch.uint8), t.view(torch.uint8))


@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".pth"])
def test_container_kind_and_order_survive(tmp_path, suffix):
    a, b = torch.randn(2, 3), torch.arange(4)
    cases = [a, [a, b], (a, b), {"z": a, "a": b, "m.x": torch.tensor(2.5)}]
    for obj in cases:
        save_tensors(obj, tmp_path / f"x{suffix}")
        back = load_tensors(tmp_path / f"x{suffix}")
        assert type(back) is type(obj)
        if isinstance(obj, dict):
            assert list(back) == list(obj)
            assert all(torch.equal(back[k], obj[k]) for k in obj)
        elif isinstance(obj, torch.Tensor):
            assert torch.equal(back, obj)
        else:
            assert all(torch.equal(x, y) for x, y in zip(back, obj, strict=True))


def test_odd_tensors_round_trip(tmp_path):
    obj = {
        "scalar": torch.tensor(3.0),
        "empty": torch.empty(0, 5),
        "transposed": torch.randn(3, 4).t(),
        "param": torch.nn.Parameter(torch.randn(2)),
        "strided": torch.arange(10.0)[::3],
    }
    save_tensors(obj, tmp_path / "x.safetensors")
    back = load_tensors(tmp_path / "x.safetensors")
    for name, t in obj.items():
        assert back[name].shape == t.shape and torch.equal(back[name], t.detach())


def test_aliased_tensors_are_stored_once_and_stay_tied(tmp_path):
    w = torch.randn(50, 40)
    obj = {"embed.weight": w, "head.weight": w, "row": w[1], "other": torch.zeros(2)}
    path = tmp_path / "tied.safetensors"
    save_tensors(obj, path)
    back = load_tensors(path)
    assert back["embed.weight"] is back["head.weight"]
    assert torch.equal(back["head.weight"], w) and torch.equal(back["row"], w[1])
    plain = load_file(path)  # still a normal safetensors file for other tools
    assert set(plain) == {"embed.weight", "row", "other"}
    assert path.stat().st_size < 2 * w.numel() * 4  # the alias was not written twice


def test_aliasing_in_a_list_and_in_torch_files(tmp_path):
    w = torch.randn(3)
    save_tensors([w, w], tmp_path / "l.safetensors")
    back = load_tensors(tmp_path / "l.safetensors")
    assert back[0] is back[1]
    save_tensors({"a": w, "b": w}, tmp_path / "d.pt")
    back = load_tensors(tmp_path / "d.pt")
    assert back["a"].untyped_storage().data_ptr() == back["b"].untyped_storage().data_ptr()


def test_foreign_safetensors_file_loads_as_dict_in_file_order(tmp_path):
    save_file({"b": torch.ones(2), "a": torch.zeros(3)}, tmp_path / "f.safetensors", metadata={"k": "v"})
    back = load_tensors(tmp_path / "f.safetensors")
    assert isinstance(back, dict) and set(back) == {"a", "b"}
    assert torch.equal(back["a"], torch.zeros(3))


def test_torch_file_is_recognised_whatever_its_suffix(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "weights.bin")
    torch.save({"w": torch.ones(2)}, tmp_path / "weights.safetensors")
    assert torch.equal(load_tensors(tmp_path / "weights.bin")["w"], torch.ones(2))
    assert torch.equal(load_tensors(tmp_path / "weights.safetensors")["w"], torch.ones(2))


def test_legacy_pre_1_6_format_loads(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"w": torch.arange(5.0)}, path, _use_new_zipfile_serialization=False)
    assert path.read_bytes()[:2] == b"\x80\x02"
    assert torch.equal(load_tensors(path)["w"], torch.arange(5.0))


def test_nested_training_checkpoint_loads_with_weights_only(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    ckpt = {"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "note": "hi", "loss": [0.5, 0.25]}
    torch.save(ckpt, tmp_path / "ckpt.pth")
    back = load_tensors(tmp_path / "ckpt.pth")
    assert back["epoch"] == 3 and back["note"] == "hi" and back["loss"] == [0.5, 0.25]
    assert torch.equal(back["model"]["weight"], net.weight.detach())
    momentum = opt.state_dict()["state"][0]["momentum_buffer"]
    assert torch.equal(back["optimizer"]["state"][0]["momentum_buffer"], momentum)


def test_save_replaces_atomically_and_keeps_backup(tmp_path):
    path = tmp_path / "x.safetensors"
    save_tensors(torch.ones(2), path)
    save_tensors(torch.zeros(2), path, backup=True)
    assert torch.equal(load_tensors(path), torch.zeros(2))
    assert torch.equal(load_tensors(tmp_path / "x.safetensors.bak"), torch.ones(2))


# ---------------------------------------------------------------- refused saves


@pytest.mark.parametrize(
    "obj",
    [
        {"c": torch.zeros(2, dtype=torch.complex128)},
        {"s": torch.eye(3).to_sparse()},
        {"n": 3},
        {1: torch.zeros(1)},
        {"__metadata__": torch.zeros(1)},
        "not tensors",
    ],
    ids=["complex128", "sparse", "number", "int-key", "reserved-name", "string"],
)
def test_unsavable_objects_raise_and_leave_old_file(tmp_path, obj):
    path = tmp_path / "x.safetensors"
    save_tensors(torch.ones(1), path)
    with pytest.raises(NetStudioError) as info:
        save_tensors(obj, path)
    assert_one_sentence(info.value)
    assert torch.equal(load_tensors(path), torch.ones(1))
    assert os.listdir(tmp_path) == ["x.safetensors"]


# ---------------------------------------------------------------- unsafe files


@pytest.mark.parametrize("style", ["zip", "legacy", "plain-pickle"])
def test_pickled_code_is_refused_and_never_runs(tmp_path, style):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"w": torch.ones(2), "x": MakesFile(marker)}
    if style == "plain-pickle":
        path.write_bytes(pickle.dumps(payload, protocol=4))
    else:
        torch.save(payload, path, _use_new_zipfile_serialization=style == "zip")
    with pytest.raises(UnsafeFileError) as info:
        load_tensors(path)
    assert "contains pickled Python objects that could run code, so NetStudio will not load it" in str(info.value)
    assert_one_sentence(info.value)
    assert not marker.exists()


def test_pickled_module_is_refused(tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "model.pt")
    with pytest.raises(UnsafeFileError):
        load_tensors(tmp_path / "model.pt")


def test_torchscript_archive_is_refused(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, not our concern
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "scripted.pt")
    with pytest.raises(UnsafeFileError) as info:
        load_tensors(tmp_path / "scripted.pt")
    assert "TorchScript" in str(info.value)
    assert_one_sentence(info.value)


# ---------------------------------------------------------------- damaged files


def _damaged_file_error(path: Path) -> FileFormatError:
    with pytest.raises(FileFormatError) as info:
        load_tensors(path)
    assert not isinstance(info.value, UnsafeFileError)
    assert_one_sentence(info.value)
    return info.value


@pytest.mark.parametrize("style", ["zip", "legacy", "safetensors"])
def test_truncated_files_give_file_format_error(tmp_path, style):
    good = tmp_path / "good"
    obj = {"a": torch.randn(20, 20), "b": torch.arange(7)}
    if style == "safetensors":
        save_tensors(obj, good.with_suffix(".safetensors"))
        data, suffix = good.with_suffix(".safetensors").read_bytes(), ".safetensors"
    else:
        torch.save(obj, good, _use_new_zipfile_serialization=style == "zip")
        data, suffix = good.read_bytes(), ".pt"
    cut = tmp_path / f"cut{suffix}"
    for size in sorted({1, 2, 5, 8, 9, 30, 100, *range(200, len(data), max(1, len(data) // 12)), len(data) - 1}):
        cut.write_bytes(data[:size])
        _damaged_file_error(cut)


def test_corrupt_zip_gives_file_format_error(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({"a": torch.randn(10)}, path)
    data = bytearray(path.read_bytes())
    data[40:400] = bytes(b ^ 0xFF for b in data[40:400])
    path.write_bytes(bytes(data))
    _damaged_file_error(path)


def test_corrupt_legacy_pickle_gives_file_format_error(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({"a": torch.randn(10)}, path, _use_new_zipfile_serialization=False)
    data = bytearray(path.read_bytes())
    data[30:60] = b"\xff" * 30
    path.write_bytes(bytes(data))
    _damaged_file_error(path)


def _safetensors_bytes(tmp_path) -> bytes:
    save_tensors({"a": torch.randn(4, 4)}, tmp_path / "src.safetensors")
    return (tmp_path / "src.safetensors").read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        lambda d, n: struct.pack("<Q", 10**12) + d[8:],  # absurd header length
        lambda d, n: struct.pack("<Q", n + 3) + d[8:],  # length off by a few bytes
        lambda d, n: d[:8] + b"[" + d[9:],  # JSON broken
        lambda d, n: d[: 8 + n].replace(b'"F32"', b'"X32"') + d[8 + n :],  # unknown dtype
        lambda d, n: d[: 8 + n].replace(b"[4,4]", b"[9,9]") + d[8 + n :],  # shape beyond the data
    ],
    ids=["huge-length", "wrong-length", "bad-json", "bad-dtype", "bad-shape"],
)
def test_corrupt_safetensors_header_gives_file_format_error(tmp_path, damage):
    data = _safetensors_bytes(tmp_path)
    header_len = struct.unpack("<Q", data[:8])[0]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(damage(data, header_len))
    _damaged_file_error(path)


def test_damaged_netstudio_metadata_gives_file_format_error(tmp_path):
    path = tmp_path / "x.safetensors"
    layout = json.dumps({"kind": "dict", "names": ["a", "ghost"], "aliases": {}})
    save_file({"a": torch.ones(1)}, path, metadata={"netstudio": layout})
    _damaged_file_error(path)


def test_missing_empty_and_folder_paths(tmp_path):
    assert "does not exist" in str(_damaged_file_error(tmp_path / "nope.safetensors"))
    (tmp_path / "empty.pt").write_bytes(b"")
    _damaged_file_error(tmp_path / "empty.pt")
    (tmp_path / "dir.pt").mkdir()
    _damaged_file_error(tmp_path / "dir.pt")


def test_unknown_content_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some text, not tensors")
    _damaged_file_error(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_or_a_device_is_refused_without_blocking(tmp_path):
    pipe = tmp_path / "pipe.safetensors"
    os.mkfifo(pipe)
    for path in (pipe, Path("/dev/zero")):
        with pytest.raises(FileFormatError, match="is not a regular file"):
            load_tensors(path)


def test_a_file_name_with_a_newline_keeps_the_message_on_one_line(tmp_path):
    path = tmp_path / "evil\nname.pt"
    path.write_bytes(b"not a torch file at all")
    with pytest.raises(FileFormatError) as err:
        load_tensors(path)
    assert "\n" not in str(err.value) and "evil\\nname.pt" in str(err.value)


def test_safetensors_files_say_they_hold_pytorch_tensors(tmp_path):
    from safetensors import safe_open
    save_tensors({"w": torch.ones(2)}, tmp_path / "w.safetensors")
    with safe_open(tmp_path / "w.safetensors", framework="pt") as f:
        assert f.metadata()["format"] == "pt"


@pytest.mark.parametrize("second", [2, 3, 4, 5])
def test_a_safetensors_header_length_that_looks_like_a_pickle_is_still_safetensors(tmp_path, second):
    """A header of 0x0?80 bytes starts the file with 80 0? like a pickle protocol marker."""
    wanted = (second << 8) | 0x80
    path = tmp_path / "w.safetensors"
    for pad in range(0, 2000):
        save_tensors({"w": torch.ones(2), "x" * (pad + 1): torch.zeros(1)}, path)
        if int.from_bytes(path.read_bytes()[:8], "little") == wanted:
            break
    else:
        pytest.skip("no padding gives that header length")
    loaded = load_tensors(path)
    assert torch.equal(loaded["w"], torch.ones(2))
