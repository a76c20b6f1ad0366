"""Open any PyTorch model: an ``nn.Module`` becomes a NetStudio project with its names and weights.

    result = from_module(model, (torch.randn(1, 3, 224, 224),))
    result.project      # definitions that keep the model's hierarchy
    result.weights      # its state_dict, under the same names
    result.fallbacks    # the parts that became code blocks, and why

The compiled project loads the model's ``state_dict`` strictly and gives the
same outputs in eval mode; both are checked here, and a difference is in
``result.problems``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..compiler import compile_project
from ..errors import GraphError
from .constructor_record import ConstructorRecord
from .convert import Fallback, ModelConverter
from .errors import ImportFailed, Unsupported
from .fidelity import load_original_weights, output_difference, untied_parameters
from .onnx_import import is_onnx, onnx_module
from .sources import load_model


@dataclass
class ImportResult:
    project: object
    weights: dict[str, torch.Tensor]
    fallbacks: list[Fallback] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def from_module(module: nn.Module, example_inputs: tuple[torch.Tensor, ...] | torch.Tensor,
                name: str | None = None, record: ConstructorRecord | None = None) -> ImportResult:
    """Import ``module``; ``example_inputs`` give the input shapes (and check the outputs).

    ``record`` holds the arguments its modules were built with, for code blocks (see ``load_model``).
    """
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    converter = ModelConverter(name or type(module).__name__, record)
    project = converter.convert(module, tuple(example_inputs))
    # Built on the meta device, the network allocates nothing and draws no initial values: the model's own
    # tensors are loaded in place.  Code blocks build on the CPU (their constructors may keep plain tensors).
    device = "cpu" if project.code else "meta"
    try:
        compiled = compile_project(project, device=device)
    except GraphError as err:
        raise ImportFailed(f"The imported project does not compile: {err}") from None
    weights = load_original_weights(module, compiled, converter.prefix)
    problems = list(converter.notes) + untied_parameters(module, compiled, converter.prefix)
    difference = output_difference(module, compiled, tuple(example_inputs))
    if difference:
        problems.append(f"The imported network's outputs differ from the model's: {difference}.")
    return ImportResult(project, weights, converter.fallbacks, problems)


def example_inputs(shapes, dtype: str = "float32") -> tuple[torch.Tensor, ...]:
    """Inputs of these shapes: seeded normal numbers, or zeros for integer dtypes (valid token ids)."""
    from ..catalog import DTYPES
    if dtype not in DTYPES:
        raise ImportFailed(f"The input dtype must be one of {', '.join(DTYPES)}, not {dtype!r}.")
    kind = DTYPES[dtype]
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.randn(tuple(shape), generator=generator).to(kind) if kind.is_floating_point
                 else torch.zeros(tuple(shape), dtype=kind) for shape in shapes)


def import_source(source: str, shapes, dtype: str = "float32") -> ImportResult:
    """``netstudio import``'s work: load the model ``source`` names, and import it.

    An ONNX file (``model.onnx``) is read, never run; its input shapes come from the file, and ``shapes``
    are needed only for its dynamic dimensions."""
    if is_onnx(source):
        module, inputs, name = onnx_module(source, shapes, dtype)
        return from_module(module, inputs, name=name)
    inputs = example_inputs(shapes, dtype)
    record = ConstructorRecord()
    model, name = load_model(source, record)
    return from_module(model, inputs, name=name, record=record)


__all__ = ["example_inputs", "import_source", "is_onnx", "onnx_module", "Fallback", "ImportFailed", "ImportResult",
           "Unsupported", "from_module", "load_model"]
