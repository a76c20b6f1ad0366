"""Every bundled example matches its hand-written twin key for key and output for output."""

from __future__ import annotations

import pytest
import torch

from netstudio.analysis import check
from netstudio.compiler import compile_project
from netstudio.serialization import load_project

from .twins import TWINS


def load(examples_dir, name, trusted=True):
    return load_project(examples_dir / f"{name}.netstudio", trusted=trusted)


def test_every_example_has_a_twin(examples_dir):
    assert sorted(p.stem for p in examples_dir.glob("*.netstudio")) == sorted(TWINS)


def copy_constants(compiled: torch.nn.Module, twin: torch.nn.Module) -> None:
    """FixedHiddenMLP's rand_weight is not in state_dict (as in the seed); copy it across."""
    for name, buf in compiled.named_buffers():
        if name.endswith("rand_weight"):
            owner = twin.get_submodule(name.rsplit(".", 1)[0]) if "." in name else twin
            owner.rand_weight = buf.clone()


@pytest.mark.parametrize("name", sorted(TWINS))
def test_example_matches_twin(examples_dir, name):
    factory, shape = TWINS[name]
    project = load(examples_dir, name)
    result = check(project)
    assert result.ok, [d.line() for d in result.diagnostics]
    torch.manual_seed(0)
    net = compile_project(project)
    twin = factory()
    x = torch.rand(*shape)
    net(x), twin(x)  # materialise lazy modules on both
    got = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    want = {k: tuple(v.shape) for k, v in twin.state_dict().items()}
    assert list(got) == list(want)
    assert got == want
    twin.load_state_dict(net.state_dict())
    copy_constants(net, twin)
    x = torch.rand(*shape)
    torch.testing.assert_close(net(x), twin(x))


@pytest.mark.parametrize("name", ["mlp", "rgnet", "nest_mlp", "my_sequential"])
def test_print_shows_the_same_nesting(examples_dir, name):
    factory, shape = TWINS[name]
    net, twin = compile_project(load(examples_dir, name)), factory()
    x = torch.rand(*shape)
    net(x), twin(x)
    assert repr(net) == repr(twin)


def test_mlp_block_prints_like_hand_written(examples_dir):
    net = compile_project(load(examples_dir, "mlp_block"))
    net(torch.rand(2, 20))
    assert repr(net) == ("MLP(\n  (hidden): Linear(in_features=20, out_features=256, bias=True)\n"
                         "  (out): Linear(in_features=256, out_features=10, bias=True)\n)")


def test_forward_is_generated_code_not_an_interpreter(examples_dir):
    net = compile_project(load(examples_dir, "mlp_block"))
    assert "self.hidden(" in net.code and "torch.relu(" in net.code and "self.out(" in net.code


def test_tied_layers_are_one_tensor_and_gradients_sum(examples_dir):
    net = compile_project(load(examples_dir, "tied"))
    x = torch.rand(2, 20)
    net(x)
    assert net[2] is net[4]
    assert net.state_dict()["2.weight"].data_ptr() == net.state_dict()["4.weight"].data_ptr()
    # Seed: writing through one name shows through the other.
    net[2].weight.data[0, 0] = 100
    assert torch.equal(net[2].weight.data[0], net[4].weight.data[0])

    factory, _ = TWINS["tied"]
    twin = factory()
    twin(x)
    twin.load_state_dict(net.state_dict())
    net(x).sum().backward()
    twin(x).sum().backward()
    torch.testing.assert_close(net[2].weight.grad, twin[2].weight.grad)

    # The tied gradient is the sum of the two uses' contributions.
    net.zero_grad()
    inputs = {}

    def keep(module, args, output):
        inputs.setdefault(len(inputs), (args[0].detach(), output))
        output.retain_grad()

    handle = net[2].register_forward_hook(keep)
    net(x).sum().backward()
    handle.remove()
    per_use = [out.grad.T @ inp for inp, out in inputs.values()]
    assert len(per_use) == 2
    torch.testing.assert_close(net[2].weight.grad, per_use[0] + per_use[1])


def test_deferred_initialisation_like_the_seed(examples_dir):
    net = compile_project(load(examples_dir, "lazy_mlp"))
    uninit = torch.nn.parameter.is_lazy
    assert all(uninit(p) for p in net.parameters())
    assert [[tuple(p.shape) for p in m.parameters() if not uninit(p)] for m in (net[0], net[2])] == [[], []]
    net(torch.rand(2, 20))
    assert [tuple(p.shape) for p in net.parameters()] == [(256, 20), (256,), (10, 256), (10,)]


def test_shape_inference_knows_deferred_shapes_before_any_forward(examples_dir):
    project = load(examples_dir, "lazy_mlp")
    result = check(project)
    chain = project.root_definition.chain()
    first, last = result.info(chain[0].id), result.info(chain[2].id)
    assert first.deferred and first.params == {"weight": (256, 20), "bias": (256,)}
    assert last.params == {"weight": (10, 256), "bias": (10,)}


def test_constant_is_a_buffer_never_a_parameter(examples_dir):
    net = compile_project(load(examples_dir, "fixed_hidden_mlp"))
    assert "rand_weight" not in dict(net.named_parameters())
    assert "rand_weight" in dict(net.named_buffers())
    assert "rand_weight" not in net.state_dict()


def test_compile_is_reproducible_with_the_project_seed(examples_dir):
    project = load(examples_dir, "fixed_hidden_mlp")
    a, b = compile_project(project), compile_project(project)
    assert torch.equal(a.rand_weight, b.rand_weight)
    x = torch.rand(2, 20)
    a(x), b(x)
    assert torch.equal(a.linear.weight, b.linear.weight)


def test_rgnet_keys_are_pytorchs(examples_dir):
    net = compile_project(load(examples_dir, "rgnet"))
    keys = list(net.state_dict())
    assert keys[0] == "0.block 0.0.weight" and keys[-1] == "1.bias" and len(keys) == 18
