"""import_weights: matching by name, partial and strict imports, ties and lazy modules."""

import pytest
import torch
from torch import nn

from netstudio.errors import FileFormatError, NetStudioError
from netstudio.files.tensor_io import save_tensors
from netstudio.files.weights_import import Mismatch, import_weights


def mlp(out: int = 2) -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, out))


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(5, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.embed.weight


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].to(sb[k].dtype), sb[k]) for k in sa)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".pth"])
def test_full_import_from_files(tmp_path, suffix):
    src, dst = mlp(), mlp()
    src[1].running_mean.fill_(0.5)
    save_tensors(src.state_dict(), tmp_path / f"w{suffix}")
    report = import_weights(dst, tmp_path / f"w{suffix}", strict=True)
    assert report.complete and len(report.matched) == 9
    assert same_state(src, dst)


def test_import_from_a_dict_keeps_parameters_in_place_and_converts_dtype():
    src, dst = mlp().double(), mlp()
    weight = dst[0].weight
    pointer = weight.data_ptr()
    import_weights(dst, src.state_dict())
    assert dst[0].weight is weight and weight.data_ptr() == pointer
    assert weight.dtype == torch.float32 and torch.allclose(weight, src[0].weight.float())
    assert not weight.grad_fn and weight.requires_grad


@pytest.mark.parametrize("key", ["state_dict", "model_state_dict", "model"])
def test_training_checkpoints_are_unwrapped(tmp_path, key):
    src, dst = mlp(), mlp()
    opt = torch.optim.SGD(src.parameters(), lr=0.1)
    torch.save({key: src.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    assert import_weights(dst, tmp_path / "ckpt.pt").complete
    assert same_state(src, dst)


def test_nested_wrappers_and_data_parallel_prefix():
    src, dst = mlp(), mlp()
    wrapped = {"model": {"state_dict": {f"module.{k}": v for k, v in src.state_dict().items()}}, "epoch": 1}
    assert import_weights(dst, wrapped).complete
    assert same_state(src, dst)


def test_partial_import_reports_and_copies_only_matches():
    src, dst = mlp(out=5), mlp(out=2)
    state = src.state_dict()
    del state["1.running_var"]
    state["extra.weight"] = torch.ones(1)
    before = snapshot(dst)
    report = import_weights(dst, state)
    assert report.missing == ("1.running_var",)
    assert report.unexpected == ("extra.weight",)
    assert report.mismatched == (Mismatch("2.weight", (2, 4), (5, 4)), Mismatch("2.bias", (2,), (5,)))
    assert "0.weight" in report.matched and not report.complete
    assert torch.equal(dst[0].weight, src[0].weight)
    assert torch.equal(dst[2].weight, before["2.weight"])
    assert torch.equal(dst[1].running_var, before["1.running_var"])
    assert report.summary() == "6 tensors matched, 1 missing, 1 unexpected and 2 with the wrong shape."


def test_strict_import_with_problems_changes_nothing():
    src, dst = mlp(out=5), mlp(out=2)
    before = snapshot(dst)
    with pytest.raises(NetStudioError) as info:
        import_weights(dst, src.state_dict(), strict=True)
    message = str(info.value)
    assert "0 missing, 0 unexpected, 2 with the wrong shape" in message
    assert message.endswith(".") and "\n" not in message
    assert all(torch.equal(v, before[k]) for k, v in dst.state_dict().items())


def test_tied_parameter_is_filled_from_either_name_and_stays_tied():
    src, dst = Tied(), Tied()
    only_head = {"head.weight": src.embed.weight.detach().clone()}
    report = import_weights(dst, only_head, strict=True)
    assert report.matched == ("embed.weight", "head.weight") and not report.missing
    assert dst.head.weight is dst.embed.weight
    assert torch.equal(dst.embed.weight, src.embed.weight)


def test_tied_parameter_is_copied_once_when_the_file_has_both_names():
    dst = Tied()
    first, second = torch.full((5, 3), 1.0), torch.full((5, 3), 2.0)
    report = import_weights(dst, {"embed.weight": first, "head.weight": second})
    assert report.complete
    assert dst.head.weight is dst.embed.weight and torch.equal(dst.embed.weight, first)


def test_lazy_parameters_take_the_files_shape(tmp_path):
    src = nn.Sequential(nn.Linear(7, 4), nn.ReLU(), nn.Linear(4, 2))
    save_tensors(src.state_dict(), tmp_path / "w.safetensors")
    dst = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
    report = import_weights(dst, tmp_path / "w.safetensors", strict=True)
    assert report.complete
    assert dst[0].weight.shape == (4, 7) and torch.equal(dst[0].weight, src[0].weight)
    x = torch.randn(3, 7)
    assert torch.allclose(dst(x), src(x))


def test_source_without_a_state_dict_is_refused(tmp_path):
    save_tensors([torch.ones(2)], tmp_path / "list.safetensors")
    with pytest.raises(FileFormatError, match="not a state dict"):
        import_weights(mlp(), tmp_path / "list.safetensors")


def test_unreadable_source_raises_file_format_error(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        import_weights(mlp(), tmp_path / "nope.pt")
