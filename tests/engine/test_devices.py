import pytest
import torch
from torch import nn

from netstudio import devices
from netstudio.devices import (
    explain_device_error,
    list_devices,
    move_to,
    replicate_for_all_gpus,
    resolve_device,
    try_all_gpus,
    try_gpu,
)
from netstudio.errors import DeviceError


@pytest.fixture
def gpus(monkeypatch):
    """Pretend this machine has ``n`` CUDA GPUs."""

    def set_count(n: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)

    return set_count


def net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))


def test_try_gpu_semantics_follow_the_seed(gpus):
    gpus(0)
    assert try_gpu() == torch.device("cpu") and try_gpu(3) == torch.device("cpu")
    assert try_all_gpus() == [torch.device("cpu")]
    gpus(2)
    assert try_gpu() == torch.device("cuda:0") and try_gpu(1) == torch.device("cuda:1")
    assert try_gpu(2) == torch.device("cpu")
    assert try_all_gpus() == [torch.device("cuda:0"), torch.device("cuda:1")]


def test_list_devices_describes_cpu_and_each_gpu(gpus, monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    gpus(0)
    assert [d.name for d in list_devices()] == ["cpu"]

    class Props:
        name = "Fake GPU"
        total_memory = 8 * 2**30

    gpus(2)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: Props())
    found = list_devices()
    assert [(d.name, d.kind, d.description, d.total_memory) for d in found[1:]] == [
        ("cuda:0", "cuda", "Fake GPU", 8 * 2**30),
        ("cuda:1", "cuda", "Fake GPU", 8 * 2**30),
    ]
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert list_devices()[-1].name == "mps"


def test_resolve_device_checks_availability(gpus, monkeypatch):
    gpus(1)
    assert resolve_device("cuda") == torch.device("cuda:0")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for name, fragment in [
        ("cuda:1", "has 1 CUDA GPU"),
        ("gpu!", "not a device name"),
        ("meta", "not supported"),
        ("mps", "not available"),
    ]:
        with pytest.raises(DeviceError) as exc:
            resolve_device(name)
        assert fragment in str(exc.value) and str(exc.value).endswith(".")


def test_move_to_moves_network_and_inputs(gpus):
    gpus(0)
    model, x = net(), torch.rand(2, 4)
    moved, moved_x = move_to(model, "cpu", x)
    assert moved is model and torch.equal(moved_x, x)
    _, pair = move_to(model, "cpu", (x, x))
    assert isinstance(pair, tuple) and len(pair) == 2
    assert move_to(model, "cpu") == (model, None)
    with pytest.raises(DeviceError, match="'cuda:0' is not available"):
        move_to(model, "cuda:0", x)


def test_explains_a_real_device_mismatch():
    model = net()
    x = torch.rand(2, 4, device="meta")
    with pytest.raises(RuntimeError) as exc:
        model(x)
    assert explain_device_error(exc.value, model, x) == (
        "The input is on meta but the weights of '0' are on cpu; move both to the same device."
    )


def test_explains_cuda_style_messages_and_ignores_others():
    error = RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"
    )
    model = net()
    model[2].to("meta")
    x = torch.rand(2, 4)
    assert explain_device_error(error, model, x) == (
        "The input is on cpu but the weights of '2' are on meta; move both to the same device."
    )
    assert explain_device_error(error, model, (x, x.to("meta"))) == (
        "The inputs are on several devices (cpu, meta); move them to one device."
    )
    assert explain_device_error(error, model, ()).startswith(
        "The network mixes devices: the weights of '0' are on cpu and the weights of '2' are on meta;"
    )
    assert explain_device_error(error, net(), x).startswith("Tensors on different devices met")
    assert explain_device_error(RuntimeError("mat1 and mat2 shapes cannot be multiplied"), model, x) is None
    assert explain_device_error(ValueError(str(error)), model, x) is None


def test_replicate_falls_back_to_the_module_itself(gpus):
    model = net()
    gpus(0)
    assert replicate_for_all_gpus(model) is model
    gpus(1)
    assert devices.replication_devices() == [] and replicate_for_all_gpus(model) is model


def test_replicate_wraps_in_data_parallel_over_all_gpus(gpus, monkeypatch):
    class Recording(nn.Module):
        def to(self, device):
            self.moved_to = device
            return self

    class FakeDataParallel:
        def __init__(self, module, device_ids):
            self.module, self.device_ids = module, device_ids

    gpus(3)
    monkeypatch.setattr(nn, "DataParallel", FakeDataParallel)
    model = Recording()
    wrapped = replicate_for_all_gpus(model)
    assert isinstance(wrapped, FakeDataParallel)
    assert wrapped.module is model and wrapped.device_ids == [0, 1, 2]
    assert model.moved_to == torch.device("cuda:0")
