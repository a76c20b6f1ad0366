import math

import pytest
import torch
from torch import nn

from netstudio.errors import NetStudioError
from netstudio.init.assignments import InitAssignment, apply_assignments, derive_seed
from netstudio.init.schemes import SCHEMES, ArgSpec, get_scheme, user_scheme
from netstudio.init.scopes import Scope, resolve


def gen(seed: int = 7) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def one_sentence(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.endswith(".")
    return message


REFERENCES = {
    "normal": lambda t, g: nn.init.normal_(t, 0.0, 1.0, generator=g),
    "uniform": lambda t, g: nn.init.uniform_(t, 0.0, 1.0, generator=g),
    "zeros": lambda t, g: nn.init.zeros_(t),
    "ones": lambda t, g: nn.init.ones_(t),
    "constant": lambda t, g: nn.init.constant_(t, 0.0),
    "xavier_uniform": lambda t, g: nn.init.xavier_uniform_(t, generator=g),
    "xavier_normal": lambda t, g: nn.init.xavier_normal_(t, generator=g),
    "kaiming_uniform": lambda t, g: nn.init.kaiming_uniform_(t, generator=g),
    "kaiming_normal": lambda t, g: nn.init.kaiming_normal_(t, generator=g),
    "orthogonal": lambda t, g: nn.init.orthogonal_(t, generator=g),
    "trunc_normal": lambda t, g: nn.init.trunc_normal_(t, generator=g),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_built_in_schemes_match_nn_init_with_the_same_generator(name):
    ours, reference = torch.empty(5, 7), torch.empty(5, 7)
    SCHEMES[name].apply(ours, gen())
    REFERENCES[name](reference, gen())
    assert torch.equal(ours, reference)


def test_arguments_reach_the_initializer():
    ours, reference = torch.empty(6, 3), torch.empty(6, 3)
    SCHEMES["kaiming_normal"].apply(ours, gen(), a=0.1, mode="fan_out", nonlinearity="relu")
    nn.init.kaiming_normal_(reference, 0.1, "fan_out", "relu", generator=gen())
    assert torch.equal(ours, reference)
    SCHEMES["constant"].apply(ours, gen(), value=42)
    assert torch.all(ours == 42)


def test_every_scheme_describes_a_form_whose_defaults_validate():
    for scheme in SCHEMES.values():
        assert scheme.label and scheme.description
        assert set(scheme.validate({})) == {spec.name for spec in scheme.args}
        for spec in scheme.args:
            assert spec.type in ("float", "int", "choice")
            assert (spec.type == "choice") == bool(spec.choices)


@pytest.mark.parametrize(
    ("scheme", "args", "fragment"),
    [
        ("normal", {"std": -1}, "at least 0"),
        ("normal", {"std": "big"}, "must be a number"),
        ("normal", {"mean": True}, "must be a number"),
        ("normal", {"mean": math.inf}, "finite"),
        ("normal", {"sigma": 1}, "no argument named 'sigma'"),
        ("kaiming_uniform", {"mode": "fan_avg"}, "fan_in, fan_out"),
        ("uniform", {"a": 2, "b": 1}, "must not exceed"),
        ("trunc_normal", {"std": 0}, "greater than 0"),
    ],
)
def test_invalid_arguments_give_one_sentence(scheme, args, fragment):
    with pytest.raises(NetStudioError) as exc:
        SCHEMES[scheme].validate(args)
    assert fragment in one_sentence(exc)


def test_uniform_accepts_equal_bounds_and_fills_that_one_value():
    """U(a, a) is every value a: allowed (``nn.init.uniform_`` allows it); only a > b is refused."""
    t = torch.empty(3, 4)
    SCHEMES["uniform"].apply(t, gen(), a=0.5, b=0.5)
    assert torch.all(t == 0.5)
    assert SCHEMES["uniform"].validate({"a": -1, "b": -1}) == {"a": -1.0, "b": -1.0}
    with pytest.raises(NetStudioError, match="must not exceed"):
        SCHEMES["uniform"].validate({"a": 0.5, "b": 0.4999})


def test_int_arguments_and_ranges():
    spec = ArgSpec("n", "int", 1, "count", minimum=1, maximum=3)
    assert spec.check(2, "Test") == 2
    for bad in (1.5, 0, 4, True):
        with pytest.raises(NetStudioError):
            spec.check(bad, "Test")
    assert ArgSpec("x", "float", 0.0, "x").check(3, "Test") == 3.0


def test_fan_based_schemes_refuse_vectors_by_name():
    with pytest.raises(NetStudioError) as exc:
        SCHEMES["xavier_uniform"].apply(torch.empty(8), gen(), name="'0.bias'")
    assert "'0.bias' has shape (8,)" in one_sentence(exc)


def test_seed_custom_scheme_keeps_only_large_values():
    t = torch.empty(64, 64)
    SCHEMES["seed_custom"].apply(t, gen())
    nonzero = t[t != 0]
    assert nonzero.numel() > 0 and (t == 0).any()
    assert torch.all(nonzero.abs() >= 5) and torch.all(nonzero.abs() <= 10)


def test_pytorch_default_resets_one_tensor_reproducibly_and_leaves_the_rest():
    layer = nn.Linear(16, 4)
    bias = layer.bias.detach().clone()
    rng_state = torch.get_rng_state()
    SCHEMES["pytorch_default"].apply(layer.weight, gen(3), owner=layer)
    first = layer.weight.detach().clone()
    SCHEMES["pytorch_default"].apply(layer.weight, gen(3), owner=layer)
    assert torch.equal(layer.weight, first)
    assert torch.equal(layer.bias, bias)
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert layer.weight.abs().max() <= 1 / math.sqrt(16)  # Linear's own kaiming_uniform bound
    with pytest.raises(NetStudioError, match="needs the module"):
        SCHEMES["pytorch_default"].apply(layer.weight, gen())
    with pytest.raises(NetStudioError, match="no PyTorch default") as exc:
        SCHEMES["pytorch_default"].apply(nn.Parameter(torch.empty(2)), gen(), owner=nn.ReLU())
    one_sentence(exc)


def test_user_scheme_needs_trust_and_runs_in_place_or_by_return():
    source = "def init(tensor, generator):\n    tensor.fill_(math.pi)\n"
    with pytest.raises(NetStudioError, match="trusted") as exc:
        user_scheme("mine", source)
    one_sentence(exc)
    t = torch.empty(3)
    user_scheme("mine", source, trusted=True).apply(t, gen())
    assert torch.allclose(t, torch.full((3,), math.pi))
    returning = "def init(tensor, generator):\n    return torch.rand(tensor.shape, generator=generator)\n"
    user_scheme("ret", returning, trusted=True).apply(t, gen())
    assert torch.equal(t, torch.rand(3, generator=gen()))


@pytest.mark.parametrize(
    ("name", "source", "fragment"),
    [
        ("broken", "def init(tensor, generator)\n    pass\n", "syntax error on line 1"),
        ("div", "def init(tensor, generator):\n    1 / 0\n", "'div' failed: ZeroDivisionError: division by zero"),
        ("shape", "def init(tensor, generator):\n    return torch.zeros(9)\n", "returned shape (9,)"),
        ("empty", "x = 1\n", "must define a function init"),
        ("loading", "raise ValueError('nope')\n", "failed to load: ValueError: nope"),
    ],
)
def test_user_scheme_errors_name_the_scheme(name, source, fragment):
    with pytest.raises(NetStudioError) as exc:
        user_scheme(name, source, trusted=True).apply(torch.empty(3), gen())
    assert fragment in one_sentence(exc)


def test_user_scheme_names_and_registry_lookup():
    with pytest.raises(NetStudioError):
        user_scheme("normal", "def init(t, g): pass", trusted=True)
    with pytest.raises(NetStudioError):
        user_scheme("not a name", "def init(t, g): pass", trusted=True)
    with pytest.raises(NetStudioError, match="no initialization scheme called 'nope'"):
        get_scheme("nope")
    mine = user_scheme("mine", "def init(t, g):\n    t.fill_(2)\n", trusted=True)
    assert get_scheme("mine", {**SCHEMES, "mine": mine}) is mine


# Scopes


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(3, 3)
        self.norm = nn.LayerNorm(3)


class MyLinear(nn.Linear):
    pass


def scoped_net() -> nn.Sequential:
    shared = nn.Linear(3, 3)
    return nn.Sequential(nn.Linear(2, 3), Block(), shared, shared, MyLinear(3, 1))


def names(model: nn.Module, scope: Scope) -> list[str]:
    return [r.name for r in resolve(model, scope)]


def test_scopes_select_network_module_parameter_and_filters():
    net = scoped_net()
    assert names(net, Scope.network()) == [n for n, _ in net.named_parameters()]
    assert names(net, Scope.module("1")) == ["1.inner.weight", "1.inner.bias", "1.norm.weight", "1.norm.bias"]
    assert names(net, Scope.parameter("3.weight")) == ["2.weight"]  # an alias resolves to the first name
    linear = ["0.weight", "0.bias", "1.inner.weight", "1.inner.bias", "2.weight", "2.bias"]
    assert names(net, Scope(module_type="Linear")) == linear
    assert names(net, Scope(module_type="Linear", leaf="bias", within="1")) == ["1.inner.bias"]
    assert names(net, Scope(leaf="weight", within="1")) == ["1.inner.weight", "1.norm.weight"]
    resolved = resolve(net, Scope.parameter("1.inner.weight"))[0]
    assert resolved.module is net[1].inner and resolved.leaf == "weight" and resolved.tensor is net[1].inner.weight


def test_lazy_linear_counts_as_linear():
    net = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(1))
    assert names(net, Scope(module_type="Linear", leaf="weight")) == ["0.weight", "2.weight"]
    assert names(net, Scope(module_type="LazyLinear")) == []


def test_scope_errors_and_round_trip():
    net = scoped_net()
    for scope, fragment in [
        (Scope.parameter("9.weight"), "no parameter named '9.weight'"),
        (Scope.parameter("1.inner"), "no parameter named '1.inner'"),
        (Scope.module("7"), "no module named '7'"),
    ]:
        with pytest.raises(NetStudioError) as exc:
            resolve(net, scope)
        assert fragment in one_sentence(exc)
    with pytest.raises(NetStudioError):
        Scope(param="0.weight", leaf="weight")
    with pytest.raises(NetStudioError):
        Scope.from_dict({"within": "0", "color": "red"})
    with pytest.raises(NetStudioError):
        Scope(module_type=3)
    for scope in [Scope.network(), Scope.module("1"), Scope.parameter("0.bias"), Scope("", "1", "Linear", "bias")]:
        assert Scope.from_dict(scope.to_dict()) == scope
    assert Scope(leaf="") == Scope()
    assert Scope(within=None) == Scope() and Scope.from_dict({"within": None}).within == ""   # the whole network


def test_an_assignment_without_a_scope_is_refused_in_one_sentence():
    with pytest.raises(NetStudioError) as exc:
        InitAssignment({"leaf": "weight"}, "normal").checked()
    assert one_sentence(exc) == "An initialization needs a scope saying which parameters it applies to."


# Assignments


def test_assignment_round_trip_fills_defaults_and_validates():
    a = InitAssignment.from_dict({"scope": {"leaf": "weight"}, "scheme": "normal", "args": {"std": 0.01}})
    assert a.args == {"mean": 0.0, "std": 0.01}
    assert InitAssignment.from_dict(a.to_dict()) == a
    for data, fragment in [
        ({"scope": {}, "scheme": "gaussian"}, "no initialization scheme called 'gaussian'"),
        ({"scope": {}, "scheme": "normal", "args": {"std": -2}}, "at least 0"),
        ({"scope": {}}, "needs a 'scope' and a 'scheme'"),
        ({"scope": {}, "scheme": "zeros", "when": "now"}, "unknown fields: when"),
    ]:
        with pytest.raises(NetStudioError) as exc:
            InitAssignment.from_dict(data)
        assert fragment in one_sentence(exc)


def test_apply_assignments_is_reproducible_and_all_or_nothing():
    first, second = scoped_net(), scoped_net()
    plan = [
        InitAssignment(Scope(module_type="Linear", leaf="weight"), "xavier_normal"),
        InitAssignment(Scope(leaf="bias"), "uniform", {"a": -1, "b": 1}),
    ]
    report = apply_assignments(first, plan, seed=5)
    apply_assignments(second, plan, seed=5)
    assert report.initialized == (
        "0.weight", "1.inner.weight", "2.weight", "0.bias", "1.inner.bias", "1.norm.bias", "2.bias", "4.bias",
    )  # fmt: skip
    assert report.deferred == ()
    p1, p2 = dict(first.named_parameters()), dict(second.named_parameters())
    assert all(torch.equal(p1[n], p2[n]) for n in report.initialized)
    apply_assignments(second, plan, seed=6)
    assert not torch.equal(first[0].weight, second[0].weight)


@pytest.mark.parametrize(
    "bad",
    [
        InitAssignment(Scope(), "normal", {"std": -1}),  # invalid argument
        InitAssignment(Scope(leaf="weight"), "xavier_normal"),  # LayerNorm's weight is a vector
    ],
)
def test_a_failing_assignment_changes_no_weight(bad):
    net = scoped_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(NetStudioError) as exc:
        apply_assignments(net, [InitAssignment(Scope(), "zeros"), bad], seed=5)
    one_sentence(exc)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_derived_seeds_differ_by_index_and_name():
    seeds = {derive_seed(0, i, n) for i in range(3) for n in ("0.weight", "0.bias")}
    assert len(seeds) == 6 and derive_seed(0, 1, "0.weight") == derive_seed(0, 1, "0.weight")
    with pytest.raises(NetStudioError):
        apply_assignments(nn.Linear(2, 2), [], seed="0")


# ---------------------------------------------------------------- boundaries and rare paths (issue #9)

def test_argument_limits_are_inclusive_and_types_are_kept():
    spec = ArgSpec("n", "int", 1, "count", minimum=1, maximum=3)
    assert spec.check(3, "Test") == 3 and type(spec.check(3, "Test")) is int
    value = ArgSpec("x", "float", 0.0, "x").check(3, "Test")
    assert value == 3.0 and type(value) is float
    assert SCHEMES["constant"].validate({"value": 1e30}) == {"value": 1e30}
    assert SCHEMES["constant"].validate({"value": -1e30}) == {"value": -1e30}
    for big, fragment in ((10**31, "at most 1e+30"), (-(10**31), "at least -1e+30")):
        with pytest.raises(NetStudioError) as exc:
            SCHEMES["constant"].validate({"value": big})
        assert fragment in one_sentence(exc)
    with pytest.raises(NetStudioError, match="must be a whole number, not True"):
        spec.check(True, "Test")


def test_truncated_normal_bounds_and_mean_limits_are_exact():
    scheme = SCHEMES["trunc_normal"]
    with pytest.raises(NetStudioError, match="lower bound a must be below the upper bound b"):
        scheme.validate({"a": 1.0, "b": 1.0})
    assert scheme.validate({"mean": -3.0, "std": 0.5, "a": -2.0, "b": 2.0})["mean"] == -3.0   # a - 2 std
    assert scheme.validate({"mean": 3.0, "std": 0.5, "a": -2.0, "b": 2.0})["mean"] == 3.0     # b + 2 std
    for mean in (-3.01, 3.01):
        with pytest.raises(NetStudioError, match="within two standard deviations"):
            scheme.validate({"mean": mean, "std": 0.5, "a": -2.0, "b": 2.0})


class Failing:
    """A fill that fails as a kernel would: with a message of several lines, or none."""

    def __init__(self, exc):
        self.exc = exc

    def __call__(self, t, g, owner, values):
        raise self.exc


@pytest.mark.parametrize("exc, reason", [
    (RuntimeError("first line.\nsecond line"), "first line"),
    (RuntimeError(""), "RuntimeError"),
    (ValueError("  padded  "), "padded"),
])
def test_a_fill_that_fails_is_one_sentence_naming_the_scheme(exc, reason):
    from netstudio.init.schemes import InitScheme
    scheme = InitScheme("boom", "Boom", "Fails.", Failing(exc))
    with pytest.raises(NetStudioError) as info:
        scheme.apply(torch.empty(3), gen(), name="'w'")
    assert one_sentence(info) == f"Boom could not initialize 'w': {reason}."
    assert info.value.__cause__ is exc


def test_schemes_fill_without_a_generator_and_onto_another_device():
    t = torch.empty(3, 4)
    SCHEMES["ones"].apply(t)
    assert torch.all(t == 1)
    SCHEMES["normal"].apply(t, None)           # the global RNG: no device to match
    meta = torch.empty(3, 4, device="meta")
    SCHEMES["normal"].apply(meta, gen())       # drawn on the generator's device, then copied
    assert meta.is_meta and meta.shape == (3, 4)
    empty = torch.empty(0, 4)
    SCHEMES["orthogonal"].apply(empty, gen())  # nothing to fill: no warning, no error


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_seed_gives_the_same_values_on_a_gpu():
    on_cpu, on_gpu = torch.empty(3, 4), torch.empty(3, 4, device="cuda")
    SCHEMES["normal"].apply(on_cpu, gen(3))
    SCHEMES["normal"].apply(on_gpu, gen(3))        # a CPU generator: drawn there, then copied over
    assert on_gpu.is_cuda and torch.equal(on_gpu.cpu(), on_cpu)


def test_pytorch_default_draws_its_seed_from_the_generator_exactly():
    import copy
    layer = nn.Linear(6, 3)
    SCHEMES["pytorch_default"].apply(layer.weight, gen(5), owner=layer)
    seed = int(torch.randint(0, 2**62, (1,), generator=gen(5)).item())
    reference = copy.deepcopy(layer)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reference.reset_parameters()
    assert torch.equal(layer.weight, reference.weight)
    SCHEMES["pytorch_default"].apply(layer.bias, None, owner=layer)   # no generator: the global RNG seeds it


def test_pytorch_default_refuses_a_tensor_its_owner_does_not_hold():
    layer = nn.Linear(6, 3)
    stray = nn.Parameter(torch.empty(3, 6))
    with pytest.raises(NetStudioError) as exc:
        SCHEMES["pytorch_default"].apply(stray, gen(), owner=layer)
    assert one_sentence(exc) == "Linear has no PyTorch default initialization (no reset_parameters method)."


def test_pytorch_default_reports_a_failing_reset_parameters():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(2))

        def reset_parameters(self):
            raise KeyError("w")
    owner = Broken()
    with pytest.raises(NetStudioError) as exc:
        SCHEMES["pytorch_default"].apply(owner.w, gen(), owner=owner)
    assert one_sentence(exc) == "Broken.reset_parameters failed: KeyError: 'w'."


def test_a_user_schemes_name_and_label():
    mine = user_scheme("mine", "def init(t, g):\n    t.fill_(2)\n", trusted=True, label="My scheme")
    assert (mine.name, mine.label) == ("mine", "My scheme")
    plain = user_scheme("plain", "def init(t, g):\n    t.fill_(2)\n", trusted=True)
    assert (plain.name, plain.label) == ("plain", "plain")
    with pytest.raises(NetStudioError, match="only runs once you mark it as trusted"):
        user_scheme("mine", "def init(t, g): pass")
