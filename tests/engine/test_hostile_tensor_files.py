"""Hostile PyTorch files: zip bombs, legacy storages declared beyond the file, pickles that are
cheap to unpickle but exponential or endless to walk.  Each must end in seconds with one
sentence (or a correct listing), never by exhausting memory: the bombs run in a child process
with capped address space (see ``test_hostile_tensor_files_builders.probe``)."""

from __future__ import annotations

import time
import warnings
import zipfile
import zlib

import pytest
import torch

from netstudio import cli
from netstudio.errors import FileFormatError, UnsafeFileError
from netstudio.files.bounds import FileTooLargeError
from netstudio.files.checkpoint import MAX_DEPTH, open_checkpoint
from netstudio.files.tensor_io import load_tensors
from netstudio.limits import set_memory_budget
from tests.engine.test_hostile_tensor_files_builders import (
    MB, Member, billion_laughs, deflated, legacy_bytes, legacy_with_numel, long1, nested_dicts, one_sentence, probe,
    replace_member, run_capped, self_holding_list, torch_zip_members, write_zip, zeros_bomb, zip_with_pickle)


@pytest.fixture
def budget():
    """``budget(nbytes)`` sets the memory budget for one test."""
    yield set_memory_budget
    set_memory_budget(None)


def refusal(path, kind=FileFormatError) -> str:
    """The one sentence that both load_tensors and open_checkpoint refuse ``path`` with."""
    messages = []
    for read in (load_tensors, open_checkpoint):
        with pytest.raises(kind) as info:
            read(path)
        assert one_sentence(str(info.value)), str(info.value)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    return messages[0]


# ---------------------------------------------------------------- 1a: zip members that inflate


def test_zip_bombs_are_refused_before_anything_is_inflated(tmp_path):
    members = torch_zip_members({"w": torch.ones(3)})
    pickle_bomb = write_zip(tmp_path / "pickle-bomb.pt", replace_member(members, "/data.pkl",
                                                                        zeros_bomb("archive/data.pkl", 64)))
    storage_bomb = write_zip(tmp_path / "storage-bomb.pt", replace_member(members, "/data/0",
                                                                          zeros_bomb("archive/data/0", 64)))
    assert pickle_bomb.stat().st_size < 1.1 * MB and storage_bomb.stat().st_size < 1.1 * MB
    start = time.monotonic()
    for action in ("load", "open"):
        for result in probe(action, pickle_bomb, storage_bomb):
            assert result["outcome"] == "FileTooLargeError", result
            assert "zip bomb" in result["message"] and "1.0 GB" in result["message"]
    for result in probe("inspect", pickle_bomb, storage_bomb):
        assert result["code"] == 2 and result["out"] == "" and "zip bomb" in result["err"], result
    assert time.monotonic() - start < 60


def test_a_compressed_but_honest_zip_loads_its_real_values(tmp_path):
    """torch maps a zip's bytes; a compressed member must be read, not mapped (that gave garbage)."""
    w = torch.arange(6.0).reshape(2, 3)
    path = write_zip(tmp_path / "zipped.pt", [deflated(m) for m in torch_zip_members({"w": w})])
    assert torch.equal(load_tensors(path)["w"], w)
    assert torch.equal(open_checkpoint(path)["w"].load(), w)


def test_unpacked_contents_beyond_the_budget_are_refused(tmp_path, budget):
    path = write_zip(tmp_path / "zipped.pt", [deflated(m) for m in torch_zip_members({"w": torch.randn(MB)})])
    budget(MB)
    message = refusal(path, FileTooLargeError)
    assert "4.0 MB" in message and "memory budget of 1.0 MB" in message


def test_a_pickle_larger_than_its_share_of_the_budget_is_refused(tmp_path, budget):
    path = tmp_path / "big-pickle.pt"
    torch.save({"values": list(range(100_000))}, path)
    budget(4 * MB)  # a pickle may use 1/256 of it: 16 KB
    assert "pickled structure" in refusal(path, FileTooLargeError)


def test_a_storage_declared_larger_than_its_record_is_damaged(tmp_path):
    members = torch_zip_members({"w": torch.arange(4.0)})
    pickle = next(m for m in members if m.name.endswith("/data.pkl")).payload
    grown = pickle.replace(b"K\x04t", b"J\x00\x00\x10\x00t")  # the storage's numel: 4 -> 2**20
    assert grown != pickle
    path = zip_with_pickle(tmp_path / "grown.pt", grown, [m for m in members if "/data/" in m.name])
    message = refusal(path)
    assert "declares 4.0 MB for a tensor whose data holds 16 bytes" in message


def test_damaged_zip_directories_are_one_sentence(tmp_path):
    members = torch_zip_members({"w": torch.ones(2)})
    cases = {
        "duplicate": members + [members[0]],
        "lying-stored-size": replace_member(members, "/data/0", Member("archive/data/0", b"\0" * 8, size=1 << 30)),
        "no-pickle": [m for m in members if not m.name.endswith("data.pkl")],
        "false-deflate": [Member(m.name, m.payload, zipfile.ZIP_DEFLATED) if m.name.endswith("serialization_id")
                          else m for m in members],  # raw bytes said to be deflated: torch inflates garbage
        "bad-crc": [deflated_with_crc(m, b"\x00\x00\x80?", b"\x00\x00\x00@")  # ones become twos
                    if m.name.endswith("/data/0") else m for m in members],  # torch never checks a CRC
    }
    for name, case in cases.items():
        message = refusal(write_zip(tmp_path / f"{name}.pt", case))
        assert "not a valid PyTorch file" in message, name


def deflated_with_crc(member: Member, old: bytes, new: bytes) -> Member:
    """``member`` deflated with ``old`` replaced by ``new`` in its bytes, under the CRC of the original."""
    changed = deflated(Member(member.name, member.payload.replace(old, new)))
    changed.crc = zlib.crc32(member.payload)
    return changed


# ---------------------------------------------------------------- 1b: legacy storages beyond the file


def test_legacy_storages_declared_beyond_the_file_are_refused(tmp_path):
    paths = []
    for numel in (2**40, 2**31, 2**28):  # 4 TB, 8 GB, 1 GB declared in an 18 KB file
        paths.append(tmp_path / f"legacy-{numel}.pt")
        paths[-1].write_bytes(legacy_with_numel(numel))
        assert paths[-1].stat().st_size < 20_000
    start = time.monotonic()
    for action in ("load", "open"):
        for result, declared in zip(probe(action, *paths), ("4.0 TB", "8.0 GB", "1.0 GB")):
            assert result["outcome"] == "FileFormatError", result
            assert f"declares {declared} of tensor data but holds only 18." in result["message"], result
    for result in probe("inspect", *paths):
        assert result["code"] == 2 and "declares" in result["err"] and result["err"].count("\n") == 1
    assert time.monotonic() - start < 60


def test_honest_legacy_files_still_load_and_are_held_to_the_budget(tmp_path, budget):
    path = tmp_path / "old.pt"
    path.write_bytes(legacy_with_numel(0x1234))  # unchanged: declares what it holds
    assert load_tensors(path)["w"].shape == (0x1234,)
    path.write_bytes(legacy_bytes({"w": torch.zeros(MB)}))
    budget(MB)  # its pickle fits (the limit is 4 KB), its 4 MB storage does not
    message = refusal(path, FileTooLargeError)
    assert "would need 4.0 MB for its tensors, more than the memory budget of 1.0 MB" in message


def test_a_negative_or_non_integer_legacy_numel_is_damaged(tmp_path):
    for name, numel in (("negative", long1(-5)), ("text", b"X\x01\x00\x00\x00x")):
        data = legacy_bytes({"w": torch.zeros(0x1234)}).replace(b"M\x34\x12N", numel + b"N")
        (tmp_path / f"{name}.pt").write_bytes(data)
        assert "not a valid PyTorch file" in refusal(tmp_path / f"{name}.pt")


def test_a_plain_pickle_is_still_refused_as_code_or_damage(tmp_path):
    (tmp_path / "plain.pt").write_bytes(b"\x80\x02}q\x00.")
    refusal(tmp_path / "plain.pt")
    (tmp_path / "global.pt").write_bytes(b"\x80\x02cos\nsystem\nq\x00.")
    refusal(tmp_path / "global.pt", UnsafeFileError)


# ---------------------------------------------------------------- 1c and 3: structures too costly to walk


def test_a_billion_laughs_pickle_is_refused_in_one_sentence(tmp_path):
    """2**40 leaves in 700 bytes: walking them would never end and listing them would fill memory,
    so this runs in a capped child process."""
    path = zip_with_pickle(tmp_path / "laughs.pt", billion_laughs(40))
    wrapped = zip_with_pickle(tmp_path / "wrapped.pt", billion_laughs(40, key="model"))  # for an import
    assert path.stat().st_size < 2000
    start = time.monotonic()
    (opened,) = probe("open", path)
    assert opened["outcome"] == "FileFormatError" and "billion laughs" in opened["message"], opened
    assert one_sentence(opened["message"]) and "'laughs.pt'" in opened["message"]
    (imported,) = probe("import", wrapped)
    assert imported["outcome"] == "FileFormatError" and "billion laughs" in imported["message"], imported
    (result,) = probe("inspect", path)
    assert result["code"] == 2 and "billion laughs" in result["err"]
    assert time.monotonic() - start < 60


def test_a_few_shared_levels_are_listed_in_full(tmp_path):
    path = zip_with_pickle(tmp_path / "shared.pt", billion_laughs(10))
    names = [e.name for e in open_checkpoint(path).entries]
    assert len(names) == 2**10 and names[0] == "0.0.0.0.0.0.0.0.0.0" and names[-1] == "1.1.1.1.1.1.1.1.1.1"


def test_nesting_is_listed_to_the_limit_and_refused_beyond(tmp_path):
    ok = zip_with_pickle(tmp_path / "deep.pt", nested_dicts(MAX_DEPTH))
    (entry,) = open_checkpoint(ok).entries
    assert entry.name == ".".join(["k"] * MAX_DEPTH) and entry.value == 1.5
    for depth in (MAX_DEPTH + 1, 100_000):
        path = zip_with_pickle(tmp_path / f"deeper-{depth}.pt", nested_dicts(depth))
        with pytest.raises(FileFormatError, match="more than 1,000 levels deep") as info:
            open_checkpoint(path)
        assert one_sentence(str(info.value))
        code, err = cli_inspect(path)
        assert code == 2 and "levels deep" in err


def test_a_container_that_holds_itself_is_refused(tmp_path):
    path = zip_with_pickle(tmp_path / "loop.pt", self_holding_list())
    with pytest.raises(FileFormatError, match="holds itself"):
        open_checkpoint(path)


def test_flatten_leaves_is_bounded_for_objects_built_in_memory():
    run_capped("""
from netstudio.errors import NetStudioError
from netstudio.files.checkpoint import flatten_leaves
shared = [torch.zeros(1)]
for _ in range(40):
    shared = [shared, shared]
deep = inner = {}
for _ in range(5000):
    inner["k"] = inner = {}
for obj, words in (({"a": shared}, "billion laughs"), (deep, "levels deep")):
    try:
        list(flatten_leaves(obj))
    except NetStudioError as err:
        assert words in str(err), err
    else:
        raise AssertionError(words)
""")


def test_odd_keys_and_values_are_named_and_shown_briefly(tmp_path, capsys):
    path = tmp_path / "odd.pt"
    torch.save({2**2000: torch.ones(1), (1, 2): torch.ones(1), "loss": float("-inf"), "blob": b"x" * 10**6,
                "big": 2**2000}, path)
    checkpoint = open_checkpoint(path)
    assert all(len(e.name) <= 80 for e in checkpoint.entries)
    assert checkpoint.entries[1].name == "(1, 2)"
    code, _ = cli_inspect(path)
    out = capsys.readouterr().out
    assert code == 0 and 'loss = "-inf"' in out and max(map(len, out.splitlines())) < 400


def cli_inspect(path, *extra) -> tuple[int, str]:
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["inspect", str(path), *extra])
    return code, err.getvalue()


def test_sparse_tensors_with_indices_out_of_range_are_refused(tmp_path):
    """torch only checks sparse indices when asked; unchecked, using one reads outside its memory."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that CSR is in beta
        bad = {
            "coo": torch.sparse_coo_tensor(torch.tensor([[0, 5], [1, 0]]), torch.tensor([1.0, 2.0]), (2, 2),
                                           check_invariants=False),
            "csr": torch.sparse_csr_tensor(torch.tensor([0, 1, 9]), torch.tensor([0, 7]), torch.tensor([1.0, 2.0]),
                                           (2, 2), check_invariants=False),
        }
    for name, tensor in bad.items():
        for legacy in (False, True):
            path = tmp_path / f"{name}-{legacy}.pt"
            torch.save({"s": tensor}, path, _use_new_zipfile_serialization=not legacy)
            assert "not a valid PyTorch file" in refusal(path)
    assert not torch.sparse.check_sparse_tensor_invariants.is_enabled()  # the check is for loading only


def test_a_good_file_loads_after_a_hostile_one_failed_midway(tmp_path):
    """torch queues sparse tensors for checking at the end of a load; a load that fails midway must not
    leave them queued for the next one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = torch.sparse_coo_tensor(torch.tensor([[0, 5], [1, 0]]), torch.tensor([1.0, 2.0]), (2, 2),
                                      check_invariants=False)
    members = torch_zip_members({"s": bad, "w": torch.ones(2)})
    pickle = next(m for m in members if m.name.endswith("/data.pkl")).payload
    hostile = zip_with_pickle(tmp_path / "hostile.pt", pickle[:-1] + b"Z.",  # an opcode torch refuses, at the end
                              [m for m in members if "/data/" in m.name])
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(2)}, good)
    for _ in range(2):
        with pytest.raises(FileFormatError):
            load_tensors(hostile)
        assert torch.equal(load_tensors(good)["w"], torch.ones(2))


def test_a_mapped_zip_is_listed_whatever_the_budget(tmp_path, budget):
    """Stored members are memory-mapped, not read: a checkpoint larger than the budget still opens."""
    path = tmp_path / "big.pt"
    torch.save({"w": torch.ones(MB)}, path)
    budget(MB)
    assert open_checkpoint(path)["w"].nbytes == 4 * MB and load_tensors(path)["w"].shape == (MB,)
