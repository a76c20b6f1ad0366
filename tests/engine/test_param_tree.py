import torch
from torch import nn

from netstudio.params.tree import ModuleEntry, TensorEntry, build_param_tree


def shared_net() -> nn.Sequential:
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))


def test_entries_follow_state_dict_with_metadata():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    tree = build_param_tree(net)
    assert [e.name for e in tree.entries()] == list(net.state_dict())
    w = tree.find("0.weight")
    assert isinstance(w, TensorEntry)
    assert (w.kind, w.shape, w.dtype, w.device, w.numel, w.nbytes) == ("parameter", (8, 4), "float32", "cpu", 32, 128)
    assert w.leaf == "weight" and w.requires_grad and not w.deferred and w.aliases == ()
    assert tree.total_numel == sum(p.numel() for p in net.parameters()) == 49
    assert tree.total_bytes == 49 * 4


def test_hierarchy_and_module_totals():
    net = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.Tanh()), nn.Linear(3, 1, bias=False))
    tree = build_param_tree(net)
    assert tree.root.name == "" and tree.root.class_name == "Sequential"
    assert [c.name for c in tree.root.children] == ["0", "1"]
    block = tree.find("0")
    assert isinstance(block, ModuleEntry)
    assert [c.class_name for c in block.children] == ["Linear", "Tanh"]
    assert block.total_numel == 9 and tree.find("1").total_numel == 3
    assert [t.name for t in tree.find("1").tensors] == ["1.weight"]  # bias=None is not a tensor
    assert tree.find("1.bias") is None and tree.find("nope") is None


def test_tied_parameters_appear_once_with_aliases():
    net = shared_net()
    tree = build_param_tree(net)
    names = [e.name for e in tree.entries()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    entry = tree.find("2.weight")
    assert entry.aliases == ("4.weight",)
    assert tree.find("4.weight") is entry
    assert tree.total_numel == sum(p.numel() for p in net.parameters()) == 121
    assert sum(t.numel() for t in net.state_dict().values()) == 121 + 72
    second = tree.find("4")
    assert second.aliases == ("2",) and second.tensors == () and second.total_numel == 72


def test_parameter_tied_between_two_modules():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Linear(3, 3, bias=False)
            self.out = nn.Linear(3, 3, bias=False)
            self.out.weight = self.emb.weight

    tree = build_param_tree(Tied())
    assert [(e.name, e.aliases) for e in tree.entries()] == [("emb.weight", ("out.weight",))]
    assert tree.find("out").total_numel == 9 and tree.total_numel == 9


def test_buffers_and_non_persistent_flag():
    class WithScratch(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(3)
            self.register_buffer("scratch", torch.zeros(2, dtype=torch.float64), persistent=False)

    tree = build_param_tree(WithScratch())
    steps = tree.find("bn.num_batches_tracked")
    assert steps.kind == "buffer" and steps.dtype == "int64" and steps.nbytes == 8 and steps.persistent
    scratch = tree.find("scratch")
    assert scratch.kind == "buffer" and not scratch.persistent and scratch.nbytes == 16
    assert tree.total_numel == 3 + 3 + 3 + 3 + 1 + 2


def test_frozen_parameters_report_requires_grad():
    net = nn.Linear(2, 2)
    net.bias.requires_grad_(False)
    tree = build_param_tree(net)
    assert tree.find("weight").requires_grad and not tree.find("bias").requires_grad


def test_lazy_parameters_are_deferred_until_first_forward():
    net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    tree = build_param_tree(net)
    assert tree.has_deferred and tree.total_numel == 0
    w = tree.find("0.weight")
    assert w.deferred and w.shape is None and w.numel == 0 and w.nbytes == 0 and w.dtype == "float32"
    net(torch.rand(2, 20))
    after = build_param_tree(net)
    assert not after.has_deferred
    assert [e.shape for e in after.entries()] == [(256, 20), (256,), (10, 256), (10,)]


def test_building_reads_no_tensor_values():
    with torch.device("meta"):  # meta tensors have no data: any read would fail
        big = nn.Sequential(nn.Linear(10_000, 10_000), nn.Linear(10_000, 10))
    tree = build_param_tree(big)
    assert tree.total_numel == 10_000 * 10_000 + 10_000 + 100_010
    assert tree.find("0.weight").device == "meta"


def test_an_empty_module_slot_is_no_child():
    net = nn.Sequential(nn.Linear(2, 2))
    net.register_module("spare", None)
    tree = build_param_tree(net)
    assert [child.name for child in tree.root.children] == ["0"]
    assert [e.name for e in tree.entries()] == ["0.weight", "0.bias"] and tree.find("spare") is None
