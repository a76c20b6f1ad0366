"""Split the gradient of a tied (shared) parameter into one part per use.

Autograd sums the contributions of every use of a leaf tensor before anyone
can see them. To show each use separately, every call of a module that owns
parameters gets its own in-graph alias of each parameter (``p.view_as(p)``);
the gradient with respect to an alias is exactly that call's contribution,
and the gradient with respect to the parameter itself is their sum.

Modules that cache their parameters outside ``_parameters`` (the ``nn.RNN``
family keeps ``_flat_weights``) are not split this way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from netstudio.errors import RunError
from netstudio.run.objectives import Inputs, first_line, forward

WHY_SUM_EXPLANATION = (
    "When one set of weights W is used in several places, the loss depends on W "
    "through each of those uses, so by the multivariate chain rule the gradient is "
    "the sum of the contributions: dL/dW = dL/dW_1 + dL/dW_2 + ..., where dL/dW_k is "
    "the gradient you would get if only use k were counted and the other uses held "
    "W fixed. A product appears when you differentiate a composition with respect to "
    "its input (the chain rule multiplies Jacobians along one path, layer after layer), "
    "but here we differentiate with respect to a parameter that appears on several "
    "paths, and the contributions of different paths add up, just as nudging W changes "
    "the loss once through the first layer and once more through the second."
)

Objective = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Use:
    """One call that used a parameter: the module name it was called through, and its contribution."""

    call_site: str
    grad: torch.Tensor


@dataclass(frozen=True)
class UseGradients:
    """A parameter used more than once: each use's gradient (in call order) and their sum."""

    name: str
    uses: tuple[Use, ...]
    total: torch.Tensor


class _CallSite(nn.Module):
    """Stands in for a shared module in one slot, so its calls know which name they came through."""

    def __init__(self, inner: nn.Module, recorder: _Recorder, parent_names: list[str], key: str):
        super().__init__()
        object.__setattr__(self, "_inner", inner)  # not registered as a child
        object.__setattr__(self, "_recorder", recorder)
        self._parent_names = parent_names
        self._key = key

    def forward(self, *args, **kwargs):
        parent = self._recorder.call_site(self._parent_names)
        self._recorder.sites.append(f"{parent}.{self._key}" if parent else self._key)
        try:
            return self._inner(*args, **kwargs)
        finally:
            self._recorder.sites.pop()


class _Recorder:
    """Gives each call of each parameter-owning module its own parameter aliases.

    Shared modules are temporarily replaced, at every name but in the same slot,
    by a :class:`_CallSite`, so a use reads "4" rather than the module's first name "2".
    """

    def __init__(self, model: nn.Module):
        self.uses: dict[int, list[tuple[str, torch.Tensor]]] = {}
        self.sites: list[str] = []
        self.originals: list[tuple[nn.Module, str, nn.Parameter]] = []
        self.slots: list[tuple[nn.Module, str, nn.Module]] = []
        self.handles = []
        names: dict[int, list[str]] = {}
        for name, module in model.named_modules(remove_duplicate=False):
            names.setdefault(id(module), []).append(name)
        for module in model.modules():
            own = [(leaf, p) for leaf, p in module._parameters.items() if p is not None]
            if own:
                self.originals += [(module, leaf, p) for leaf, p in own]
                self.handles.append(module.register_forward_pre_hook(self._pre_hook(names[id(module)], own)))
                self.handles.append(module.register_forward_hook(self._post_hook(own)))
        for parent in list(model.modules()):
            for key, child in parent._modules.items():
                if child is not None and len(names[id(child)]) > 1:
                    self.slots.append((parent, key, child))
        for parent, key, child in self.slots:
            parent._modules[key] = _CallSite(child, self, names[id(parent)], key)

    def call_site(self, names: list[str]) -> str:
        """The module's name under the innermost shared call site, else its first name."""
        for site in reversed(self.sites):
            for name in names:
                if name == site or name.startswith(site + "."):
                    return name
        return names[0]

    def _pre_hook(self, names: list[str], own: list[tuple[str, nn.Parameter]]):
        def hook(module: nn.Module, args):
            site = self.call_site(names)
            for leaf, param in own:
                if param.requires_grad:
                    alias = param.view_as(param)
                    module._parameters[leaf] = alias
                    self.uses.setdefault(id(param), []).append((site, alias))

        return hook

    def _post_hook(self, own: list[tuple[str, nn.Parameter]]):
        def hook(module: nn.Module, args, output):
            for leaf, param in own:
                module._parameters[leaf] = param

        return hook

    def restore(self) -> None:
        for handle in self.handles:
            handle.remove()
        for module, leaf, param in self.originals:
            module._parameters[leaf] = param
        for parent, key, child in self.slots:
            parent._modules[key] = child


def per_use_gradients(model: nn.Module, inputs: Inputs, objective: Objective) -> dict[str, UseGradients]:
    """Run forward and backward once; report every parameter used more than once.

    The model's ``.grad`` fields are left untouched (gradients are computed with
    ``torch.autograd.grad``), and its parameters are restored even on errors.
    """
    recorder = _Recorder(model)
    try:
        loss = objective(forward(model, inputs))
    finally:
        recorder.restore()
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise RunError("The objective must return a single number to back-propagate from.")
    first_names = {id(p): name for name, p in model.named_parameters()}
    shared = {key: uses for key, uses in recorder.uses.items() if len(uses) > 1}
    params = {id(p): p for p in model.parameters()}
    wrt = [params[key] for key in shared] + [alias for uses in shared.values() for _, alias in uses]
    if not wrt:
        return {}
    try:
        grads = torch.autograd.grad(loss, wrt, allow_unused=True, materialize_grads=True)
    except RuntimeError as exc:
        raise RunError(f"Backward pass failed: {first_line(exc)}.") from exc
    totals, per_alias = grads[: len(shared)], iter(grads[len(shared) :])
    result = {}
    for (key, uses), total in zip(shared.items(), totals):
        name = first_names[key]
        result[name] = UseGradients(
            name=name,
            uses=tuple(Use(site, next(per_alias)) for site, _ in uses),
            total=total,
        )
    return result


@dataclass(frozen=True)
class UseParts:
    """One number of a shared parameter's gradient, per use and in total; the uses' numbers add up to it.

    Norms would not add up (‖a + b‖ ≠ ‖a‖ + ‖b‖), so a table that should show the sum shows one
    element, or the sum of all elements, of each use's gradient instead.
    """

    what: str                              # "[3, 1]", or "sum of all elements"
    uses: tuple[tuple[str, float], ...]    # (call site, value) in call order
    total: float                           # the same number of autograd's gradient (.grad)


def use_parts(grads: UseGradients, element: str | tuple[int, ...] = "largest") -> UseParts:
    """``element``: "largest" (the element of largest |total|), "sum" (of all elements), or an index.
    An empty parameter has no largest element: it shows its sum, 0."""
    total = grads.total.detach()
    if element == "sum" or element == "largest" and not total.numel():
        return UseParts("sum of all elements", tuple((u.call_site, float(u.grad.sum())) for u in grads.uses),
                        float(total.sum()))
    if element == "largest":
        flat = int(total.abs().reshape(-1).argmax())
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), tuple(total.shape)))
    else:
        index = tuple(int(i) for i in element)
        shape = tuple(total.shape)
        if len(index) != len(shape) or any(not -n <= i < n for i, n in zip(index, shape)):
            raise RunError(f"Index {list(index)} is out of range for '{grads.name}' of shape {shape}.")
    return UseParts(f"[{', '.join(map(str, index))}]", tuple((u.call_site, float(u.grad[index])) for u in grads.uses),
                    float(total[index]))


def aligned(values: list[float], digits: int = 6) -> list[str]:
    """The numbers with one count of decimals (the largest gets ``digits`` significant ones), so a
    column of them adds up as written, to within the last decimal."""
    largest = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    decimals = digits - 1 - math.floor(math.log10(largest)) if largest > 0 else digits - 1
    decimals = min(max(decimals, 0), 15)
    return [f"{v:.{decimals}f}" for v in values]
