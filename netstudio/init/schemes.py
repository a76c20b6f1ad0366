"""Initialization schemes as data: a registry the UI builds its forms from.

Every scheme fills a tensor in place from an explicit ``torch.Generator``, so
the same seed gives the same weights. Argument defaults are PyTorch's own
(``nn.init``), except where PyTorch has none (``constant`` starts at 0).

``pytorch_default`` re-runs the owning module's ``reset_parameters()`` on a
CPU copy of that module, seeded from the generator, and copies back only the
requested tensor: the module's other tensors and the global RNG are left alone,
and the result is the same on every device.

Every built-in scheme overwrites the whole tensor without reading it first,
which is what lets a replay skip values that a later assignment replaces.
Arguments are data from a file: a number must be finite and at most
``ARG_LIMIT`` in size (no float32 weight holds more).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import torch
from torch import nn

from netstudio.errors import NetStudioError
from netstudio.params.net_index import brief, listing

ArgType = Literal["float", "int", "choice"]
ArgValue = float | int | str
ARG_LIMIT = 1e30
Fill = Callable[[torch.Tensor, torch.Generator | None, nn.Module | None, dict[str, Any]], None]

NONLINEARITIES = (
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu",
)  # fmt: skip


@dataclass(frozen=True)
class ArgSpec:
    """One argument of a scheme: enough to build and validate a form field."""

    name: str
    type: ArgType
    default: ArgValue
    label: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def check(self, value: Any, scheme_label: str) -> ArgValue:
        """The value, validated (and ints widened to float for float fields)."""
        where = f"'{self.label}' of {scheme_label}"
        if self.type == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise NetStudioError(f"{where} must be one of {', '.join(self.choices)}, not {brief(value)}.")
            return value
        if isinstance(value, bool) or not isinstance(value, int if self.type == "int" else (int, float)):
            kind = "a whole number" if self.type == "int" else "a number"
            raise NetStudioError(f"{where} must be {kind}, not {brief(value)}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise NetStudioError(f"{where} must be finite, not {value!r}.")
        if not -ARG_LIMIT <= value <= ARG_LIMIT:   # compared before any float(): 10**400 is an int
            edge = f"at most {ARG_LIMIT:g}" if value > 0 else f"at least {-ARG_LIMIT:g}"
            raise NetStudioError(f"{where} must be {edge}.")
        if self.minimum is not None and value < self.minimum:
            raise NetStudioError(f"{where} must be at least {self.minimum:g}, not {value:g}.")
        if self.maximum is not None and value > self.maximum:
            raise NetStudioError(f"{where} must be at most {self.maximum:g}, not {value:g}.")
        return value if self.type == "int" else float(value)


@dataclass(frozen=True)
class InitScheme:
    """A named way to fill a tensor; ``min_ndim`` > 0 rules out biases (fan-based schemes)."""

    name: str
    label: str
    description: str
    fill: Fill = field(repr=False)
    args: tuple[ArgSpec, ...] = ()
    min_ndim: int = 0
    needs_module: bool = False
    needs_reset: bool = False
    cross_check: Callable[[dict[str, Any]], str | None] | None = field(default=None, repr=False)

    def validate(self, args: Mapping[str, Any]) -> dict[str, ArgValue]:
        """All arguments, defaults filled in; unknown or invalid ones raise NetStudioError."""
        known = {spec.name: spec for spec in self.args}
        unknown = set(args) - set(known)
        if unknown:
            raise NetStudioError(f"{self.label} has no argument named {listing(map(repr, unknown))}.")
        values = {name: spec.check(args.get(name, spec.default), self.label) for name, spec in known.items()}
        problem = self.cross_check(values) if self.cross_check else None
        if problem:
            raise NetStudioError(f"{self.label}: {problem}.")
        return values

    def check_target(self, tensor: torch.Tensor, *, owner: nn.Module | None = None, name: str = "the tensor") -> None:
        """Raise if this scheme cannot fill ``tensor``: too few dimensions, no owning module, or
        (PyTorch's default) an owner without ``reset_parameters``, all found before any weight changes."""
        if tensor.dim() < self.min_ndim:
            raise NetStudioError(
                f"{self.label} needs at least {self.min_ndim} dimensions, "
                f"but {name} has shape {tuple(tensor.shape)}."
            )
        if self.needs_module and owner is None:
            raise NetStudioError(f"{self.label} needs the module that holds {name}.")
        if self.needs_reset and not has_reset(owner):
            raise NetStudioError(
                f"{type(owner).__name__} has no PyTorch default initialization (no reset_parameters method)."
            )

    def apply(
        self,
        tensor: torch.Tensor,
        generator: torch.Generator | None = None,
        *,
        owner: nn.Module | None = None,
        name: str = "the tensor",
        **args: Any,
    ) -> None:
        """Fill ``tensor`` in place; ``owner`` is the module holding it (needed by ``pytorch_default``)."""
        values = self.validate(args)
        self.check_target(tensor, owner=owner, name=name)
        if tensor.numel() == 0:
            return   # nothing to fill (and nn.init warns about it)
        # Fill on the generator's device and copy, so a seed gives the same values on every device.
        moved = not self.needs_module and generator is not None and tensor.device != generator.device
        target = torch.empty_like(tensor, device=generator.device) if moved else tensor
        try:
            with torch.no_grad():
                self.fill(target, generator, owner, values)
                if moved:
                    tensor.copy_(target)
        except (RuntimeError, ValueError, ArithmeticError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
            raise NetStudioError(f"{self.label} could not initialize {name}: {reason}.") from exc


def _float(name: str, default: float, label: str, minimum: float | None = None) -> ArgSpec:
    return ArgSpec(name, "float", default, label, minimum=minimum)


_GAIN = _float("gain", 1.0, "gain", minimum=0.0)
_KAIMING = (
    _float("a", 0.0, "negative slope", minimum=0.0),
    ArgSpec("mode", "choice", "fan_in", "mode", choices=("fan_in", "fan_out")),
    ArgSpec("nonlinearity", "choice", "leaky_relu", "nonlinearity", choices=NONLINEARITIES),
)


def _uniform_check(v: dict[str, Any]) -> str | None:
    return "the lower bound a must not exceed the upper bound b" if v["a"] > v["b"] else None


def _trunc_check(v: dict[str, Any]) -> str | None:
    if v["std"] <= 0:
        return "the standard deviation must be greater than 0"
    if v["a"] >= v["b"]:
        return "the lower bound a must be below the upper bound b"
    if v["mean"] < v["a"] - 2 * v["std"] or v["mean"] > v["b"] + 2 * v["std"]:   # nn.init would warn
        return "the mean must lie within two standard deviations of [a, b]"
    return None


def has_reset(owner: nn.Module | None) -> bool:
    """Whether ``owner`` has PyTorch's default initialization to re-run."""
    return owner is not None and callable(getattr(owner, "reset_parameters", None))


def _seed_custom(t: torch.Tensor, g: torch.Generator | None, owner: nn.Module | None, v: dict) -> None:
    nn.init.uniform_(t, -10, 10, generator=g)
    t.mul_(t.abs() >= 5)


def _pytorch_default(t: torch.Tensor, g: torch.Generator | None, owner: nn.Module | None, v: dict) -> None:
    leaf = next((k for k, p in owner._parameters.items() if p is t), None)
    if leaf is None or not has_reset(owner):
        raise NetStudioError(
            f"{type(owner).__name__} has no PyTorch default initialization (no reset_parameters method)."
        )
    device = g.device if g is not None else torch.device("cpu")
    seed = int(torch.randint(0, 2**62, (1,), generator=g, device=device).item())
    try:
        scratch = copy.deepcopy(owner).to("cpu")
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            scratch.reset_parameters()
        fresh = scratch._parameters[leaf]
    except Exception as exc:   # a code block's reset_parameters is user code
        raise NetStudioError(f"{type(owner).__name__}.reset_parameters failed: {_describe(exc)}.") from exc
    t.copy_(fresh)


def _scheme(name: str, label: str, description: str, fill: Fill, *args: ArgSpec, **extra: Any) -> InitScheme:
    return InitScheme(name, label, description, fill, tuple(args), **extra)


_BUILT_IN = [
    _scheme("normal", "Normal", "Draw from N(mean, std²).",
            lambda t, g, o, v: nn.init.normal_(t, v["mean"], v["std"], generator=g),
            _float("mean", 0.0, "mean"), _float("std", 1.0, "standard deviation", minimum=0.0)),
    _scheme("uniform", "Uniform", "Draw from U(a, b).",
            lambda t, g, o, v: nn.init.uniform_(t, v["a"], v["b"], generator=g),
            _float("a", 0.0, "lower bound a"), _float("b", 1.0, "upper bound b"), cross_check=_uniform_check),
    _scheme("zeros", "Zeros", "Set every value to 0.", lambda t, g, o, v: nn.init.zeros_(t)),
    _scheme("ones", "Ones", "Set every value to 1.", lambda t, g, o, v: nn.init.ones_(t)),
    _scheme("constant", "Constant", "Set every value to the same number.",
            lambda t, g, o, v: nn.init.constant_(t, v["value"]), _float("value", 0.0, "value")),
    _scheme("xavier_uniform", "Xavier uniform",
            "Uniform with variance 2 / (fan_in + fan_out), so signals keep their scale both ways.",
            lambda t, g, o, v: nn.init.xavier_uniform_(t, v["gain"], generator=g), _GAIN, min_ndim=2),
    _scheme("xavier_normal", "Xavier normal", "Normal with variance 2 / (fan_in + fan_out).",
            lambda t, g, o, v: nn.init.xavier_normal_(t, v["gain"], generator=g), _GAIN, min_ndim=2),
    _scheme("kaiming_uniform", "Kaiming uniform", "Uniform scaled for ReLU-like layers (He et al.).",
            lambda t, g, o, v: nn.init.kaiming_uniform_(t, generator=g, **v), *_KAIMING, min_ndim=2),
    _scheme("kaiming_normal", "Kaiming normal", "Normal scaled for ReLU-like layers (He et al.).",
            lambda t, g, o, v: nn.init.kaiming_normal_(t, generator=g, **v), *_KAIMING, min_ndim=2),
    _scheme("orthogonal", "Orthogonal", "A (semi-)orthogonal matrix times the gain.",
            lambda t, g, o, v: nn.init.orthogonal_(t, v["gain"], generator=g), _GAIN, min_ndim=2),
    _scheme("trunc_normal", "Truncated normal", "N(mean, std²) with values outside [a, b] redrawn.",
            lambda t, g, o, v: nn.init.trunc_normal_(t, generator=g, **v),
            _float("mean", 0.0, "mean"), _float("std", 1.0, "standard deviation"),
            _float("a", -2.0, "lower bound a"), _float("b", 2.0, "upper bound b"), cross_check=_trunc_check),
    _scheme("pytorch_default", "PyTorch default", "What the layer does when it is created (reset_parameters).",
            _pytorch_default, needs_module=True, needs_reset=True),
    _scheme("seed_custom", "Book's custom", "U(-10, 10), then every value with |w| < 5 set to 0.", _seed_custom),
]  # fmt: skip

SCHEMES: Mapping[str, InitScheme] = MappingProxyType({s.name: s for s in _BUILT_IN})


def get_scheme(name: str, registry: Mapping[str, InitScheme] = SCHEMES) -> InitScheme:
    """The scheme called ``name``; ``registry`` may add the project's own schemes."""
    scheme = registry.get(name) if isinstance(name, str) else None
    if scheme is None:
        raise NetStudioError(f"There is no initialization scheme called {brief(name)}.")
    return scheme


def _describe(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def user_scheme(name: str, source: str, *, trusted: bool = False, label: str | None = None) -> InitScheme:
    """A scheme from Python source defining ``def init(tensor, generator): ...``.

    The code runs with full Python rights, so it is compiled only when the
    caller says the source is ``trusted`` (the user wrote it or accepted it).
    ``init`` fills ``tensor`` in place, or returns a tensor of the same shape.
    """
    if not trusted:
        raise NetStudioError(f"Custom scheme '{name}' runs Python code, so it only runs once you mark it as trusted.")
    if not name.isidentifier() or name in SCHEMES:
        raise NetStudioError(f"{name!r} cannot name a custom scheme; use a new name made of letters, digits and _.")
    namespace: dict[str, Any] = {"torch": torch, "math": math}
    try:
        exec(compile(source, f"<init scheme {name}>", "exec"), namespace)
    except SyntaxError as exc:
        raise NetStudioError(f"Custom scheme '{name}' has a syntax error on line {exc.lineno}: {exc.msg}.") from exc
    except Exception as exc:
        raise NetStudioError(f"Custom scheme '{name}' failed to load: {_describe(exc)}.") from exc
    init = namespace.get("init")
    if not callable(init):
        raise NetStudioError(f"Custom scheme '{name}' must define a function init(tensor, generator).")

    def fill(t: torch.Tensor, g: torch.Generator | None, owner: nn.Module | None, v: dict) -> None:
        try:
            result = init(t, g)
        except Exception as exc:
            raise NetStudioError(f"Custom scheme '{name}' failed: {_describe(exc)}.") from exc
        if isinstance(result, torch.Tensor):
            if result.shape != t.shape:
                raise NetStudioError(
                    f"Custom scheme '{name}' returned shape {tuple(result.shape)} "
                    f"for a tensor of shape {tuple(t.shape)}."
                )
            t.copy_(result)

    return InitScheme(name, label or name, "Your own Python function.", fill)
