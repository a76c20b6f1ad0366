"""open_checkpoint: flat listing, lazy loading, aliases and the prefix tree."""

import contextlib

import pytest
import torch
from safetensors.torch import save_file

import netstudio.files.checkpoint as checkpoint_module
from netstudio.errors import FileFormatError, UnsafeFileError
from netstudio.files.checkpoint import open_checkpoint
from netstudio.files.tensor_io import save_tensors


class Tied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(5, 3)
        self.head = torch.nn.Linear(3, 5, bias=False)
        self.head.weight = self.embed.weight


class CountingReader:
    """Wraps a safe_open handle and records which tensors are read."""

    def __init__(self, handle, reads: list):
        self._handle, self._reads = handle, reads

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def get_tensor(self, name):
        self._reads.append(name)
        return self._handle.get_tensor(name)


def training_checkpoint():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(2, 3)).sum().backward()
    opt.step()
    return net, {"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "tag": "best"}


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_checkpoint_lists_tensors_and_metadata_in_order(tmp_path, legacy):
    net, ckpt = training_checkpoint()
    path = tmp_path / "ckpt.pt"
    torch.save(ckpt, path, _use_new_zipfile_serialization=not legacy)
    c = open_checkpoint(path)
    names = [e.name for e in c.entries]
    assert names[:4] == ["model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"]
    assert "optimizer.state.0.exp_avg" in names and names[-2:] == ["epoch", "tag"]
    w = c["model.0.weight"]
    assert (w.shape, w.dtype, w.numel, w.nbytes) == ((4, 3), "float32", 12, 48)
    assert torch.equal(w.load(), net[0].weight.detach())
    assert not c["epoch"].is_tensor and c["epoch"].value == 3 and c["tag"].value == "best"
    betas = c["optimizer.param_groups.0.betas"]  # a tuple of plain numbers stays one value
    assert betas.value == (0.9, 0.999)
    with pytest.raises(FileFormatError):
        c["epoch"].load()


def test_tied_weights_in_a_torch_file_are_aliases(tmp_path):
    torch.save(Tied().state_dict(), tmp_path / "tied.pt")
    c = open_checkpoint(tmp_path / "tied.pt")
    assert c["embed.weight"].alias_of is None
    assert c["head.weight"].alias_of == "embed.weight"
    assert c.nbytes == 5 * 3 * 4  # counted once


def test_views_of_one_storage_are_not_aliases(tmp_path):
    w = torch.randn(4, 4)
    torch.save({"w": w, "row": w[1], "same": w}, tmp_path / "v.pt")
    c = open_checkpoint(tmp_path / "v.pt")
    assert c["row"].alias_of is None and c["same"].alias_of == "w"


def test_safetensors_entries_come_from_the_header_and_load_on_demand(tmp_path, monkeypatch):
    w = torch.randn(6, 2)
    save_tensors({"b.weight": w, "a.bias": torch.zeros(3, dtype=torch.bfloat16), "tied": w}, tmp_path / "m.safetensors")
    reads = []
    real_open = checkpoint_module.open_safetensors

    @contextlib.contextmanager
    def counting_open(path):
        with real_open(path) as f:
            yield CountingReader(f, reads)

    monkeypatch.setattr(checkpoint_module, "open_safetensors", counting_open)
    c = open_checkpoint(tmp_path / "m.safetensors")
    assert reads == []
    assert [e.name for e in c.entries] == ["b.weight", "a.bias", "tied"]  # saved order, not file order
    assert c["a.bias"].dtype == "bfloat16" and c["a.bias"].nbytes == 6
    assert c["tied"].alias_of == "b.weight"
    assert torch.equal(c["tied"].load(), w)
    assert reads == ["b.weight"]


def test_foreign_safetensors_metadata_and_offset_order(tmp_path):
    save_file({"z": torch.ones(2), "a": torch.ones(3)}, tmp_path / "f.safetensors", metadata={"format": "pt"})
    c = open_checkpoint(tmp_path / "f.safetensors")
    assert c.kind == "safetensors" and c.metadata["format"] == "pt"
    assert {e.name for e in c.entries} == {"z", "a"} and c.numel == 5


def test_safetensors_changed_on_disk_is_reported(tmp_path):
    path = tmp_path / "m.safetensors"
    save_tensors({"w": torch.ones(2, 2)}, path)
    c = open_checkpoint(path)
    save_tensors({"w": torch.ones(3)}, path)
    with pytest.raises(FileFormatError, match="changed on disk"):
        c["w"].load()
    save_tensors({"other": torch.ones(2, 2)}, path)
    with pytest.raises(FileFormatError, match="changed on disk"):
        c["w"].load()


def test_tree_groups_by_prefix_with_totals(tmp_path):
    nested = {"0": {"weight": torch.zeros(2, 3), "bias": torch.zeros(2)}}
    torch.save({"enc": nested, "enc.scale": torch.zeros(4), "head": torch.zeros(5), "step": 7}, tmp_path / "t.pt")
    root = open_checkpoint(tmp_path / "t.pt").tree()
    assert list(root.children) == ["enc", "head", "step"]
    enc = root.children["enc"]
    assert enc.path == "enc" and enc.numel == 6 + 2 + 4 and enc.nbytes == 12 * 4
    assert enc.children["0"].children["weight"].entry.shape == (2, 3)
    assert enc.children["scale"].path == "enc.scale"
    assert root.numel == 17 and root.children["step"].entry.value == 7 and root.children["step"].numel == 0


def test_tree_counts_aliases_once(tmp_path):
    torch.save(Tied().state_dict(), tmp_path / "tied.pt")
    root = open_checkpoint(tmp_path / "tied.pt").tree()
    assert root.numel == 15 and root.children["head"].numel == 0 and root.children["embed"].numel == 15


def test_bare_tensor_and_list_files(tmp_path):
    torch.save(torch.ones(3), tmp_path / "one.pt")
    assert [e.name for e in open_checkpoint(tmp_path / "one.pt").entries] == ["tensor"]
    save_tensors([torch.ones(1), torch.ones(2)], tmp_path / "l.safetensors")
    assert [e.name for e in open_checkpoint(tmp_path / "l.safetensors").entries] == ["0", "1"]


def test_safety_and_damage_rules_match_tensor_io(tmp_path):
    torch.save({"net": torch.nn.Linear(2, 2)}, tmp_path / "pickled.pt")
    with pytest.raises(UnsafeFileError):
        open_checkpoint(tmp_path / "pickled.pt")
    with pytest.raises(FileFormatError, match="does not exist"):
        open_checkpoint(tmp_path / "missing.safetensors")
    save_tensors({"w": torch.ones(8)}, tmp_path / "cut.safetensors")
    data = (tmp_path / "cut.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-4])
    with pytest.raises(FileFormatError):
        open_checkpoint(tmp_path / "cut.safetensors")


def test_plain_values_are_shown_briefly_whatever_they_are():
    from netstudio.files.value_text import json_value, value_text
    assert value_text(10**5000).startswith("<int of 16,610 bits>")  # repr() itself would raise
    assert len(value_text(b"x" * 10**6)) <= 200 and len(value_text(list(range(10**6)))) <= 200
    storage = torch.ones(10**6).untyped_storage()
    assert value_text(storage) == "<storage of 4,000,000 bytes>"
    shared = [1, 2]
    for _ in range(60):
        shared = [shared, shared]
    assert len(value_text(shared)) <= 200  # 2**60 leaves, printed to a depth of three
    assert json_value([1.0, float("inf"), float("-inf"), float("nan")]) == [1.0, "inf", "-inf", "nan"]
    assert json_value(2**70) == "1180591620717411303424" and json_value(2**63) == 2**63
    assert json_value(float("nan")) == "nan" and json_value({}) == {} and json_value((1, "a")) == [1, "a"]
