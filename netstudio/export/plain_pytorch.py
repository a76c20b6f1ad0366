"""Export a compiled network as plain PyTorch: ``model.py`` + ``model.safetensors``.

``model.py`` imports only torch (and ``math``, ``operator``,
``collections.OrderedDict`` where used), never this package; it holds one
class per definition used, the source of the code blocks used, and
``build_model()``, the entry point, documented at the top of the file (see
:mod:`.renderer`).

Constructor calls are derived from the *materialized* modules (see
:mod:`.constructors`); a network with lazy parameters left is first run once
on zeros of the root Inputs' example shapes and dtypes, in eval mode, without
gradients and without touching the global RNG (running statistics stay as
they were).

Constants (buffers from Constant nodes) are reproduced exactly: up to 4096
elements as literal values in model.py, larger non-persistent ones in
``constants.safetensors`` beside it, read by ``load_constant`` when the model
is built.  ``model.safetensors`` holds exactly ``module.state_dict()``; tied
tensors are stored under each of their names, so a plain
``model.load_state_dict(safetensors.torch.load_file(...))`` works, on this
model.py as on any hand-written module of the same structure.

The files are written into a staging folder and model.py is run there
(:mod:`.verify`) before anything replaces the previous export
(:mod:`.writing`): a failed export changes nothing.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from ..catalog import get_block
from ..catalog.tensor_spec import DTYPES
from ..files.tensor_io import alias_key
from ..graph.project import Project
from .errors import ExportError, os_reason, shown
from .renderer import ENTRY_POINT, Renderer
from .verify import verify_model_py
from .writing import install, remove_abandoned, staging_folder, write_bytes, write_tensors

MODEL_PY = "model.py"
WEIGHTS = "model.safetensors"
CONSTANTS = "constants.safetensors"

__all__ = ["CONSTANTS", "ENTRY_POINT", "MODEL_PY", "WEIGHTS", "ExportError", "ExportResult", "example_inputs",
           "export_plain_pytorch", "has_lazy_state", "materialize", "render_model_py", "state_dict_for_saving",
           "tensors_for_file"]


@dataclass(frozen=True)
class ExportResult:
    """The files written, model.py first."""

    paths: tuple[Path, ...]

    @property
    def model_py(self) -> Path:
        return self.paths[0]

    @property
    def weights(self) -> Path:
        return self.paths[1]


def export_plain_pytorch(project: Project, module: nn.Module, outdir: str | Path) -> ExportResult:
    """Write ``OUTDIR/model.py`` and ``OUTDIR/model.safetensors`` (and ``constants.safetensors`` if needed).

    All or nothing: on any failure the files already in ``OUTDIR`` stay as they were.
    """
    outdir = Path(outdir)
    materialize(project, module)
    renderer = Renderer(project)
    text = renderer.render(module)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # only verbatim code-block source can still hold a lone surrogate here
        raise ExportError("The code of a code block holds a character that is not valid Unicode, "
                          "so model.py cannot be written.") from None
    _make_folder(outdir)
    remove_abandoned(outdir)
    names = [MODEL_PY, WEIGHTS] + ([CONSTANTS] if renderer.side_constants else [])
    with staging_folder(outdir) as staging:
        if renderer.side_constants:
            write_tensors(renderer.side_constants, staging / CONSTANTS)
        write_tensors(tensors_for_file(module), staging / WEIGHTS)
        write_bytes(staging / MODEL_PY, data)
        verify_model_py(staging / MODEL_PY, module, renderer.renamed)
        # constants first (the new model.py reads them), model.py last; a stale constants file goes after
        install(staging, outdir, names[2:] + [WEIGHTS, MODEL_PY], stale=[] if renderer.side_constants else [CONSTANTS])
    return ExportResult(tuple(outdir / name for name in names))


def _make_folder(outdir: Path) -> None:
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"Could not create the folder {shown(str(outdir), 200)}: {os_reason(err)}.") from None
    if not outdir.is_dir():
        raise ExportError(f"{shown(str(outdir), 200)} is not a folder.")


def render_model_py(project: Project, module: nn.Module) -> str:
    """The text of model.py for ``module`` (materialized first); large constants are not saved."""
    materialize(project, module)
    return Renderer(project).render(module)


def has_lazy_state(module: nn.Module) -> bool:
    return any(is_lazy(t) for t in (*module.parameters(), *module.buffers()))


def example_inputs(project: Project, module: nn.Module | None = None,
                   device: torch.device | str | None = None) -> tuple[torch.Tensor, ...]:
    """Zeros of the root Inputs' example shapes and dtypes, in the order ``module.forward`` takes them."""
    d = project.root_definition
    inputs = list(d.inputs)
    if module is not None and d.kind == "graph":
        try:
            names = list(inspect.signature(module.forward).parameters)
        except (TypeError, ValueError):
            names = []
        by_name = {n.name: n for n in inputs}
        if sorted(names) == sorted(by_name):
            inputs = [by_name[name] for name in names]
    if device is None:
        device = _device_of(module) if module is not None else torch.device("cpu")
    out = []
    for node in inputs:
        params = get_block("Input").resolve(node.params)
        if params["shape"] is None:
            raise ExportError(f"The input {shown(node.name)} declares no example shape, so the network cannot be "
                              "run once to size its deferred layers.")
        out.append(torch.zeros(tuple(params["shape"]), dtype=DTYPES[params["dtype"]], device=device))
    return tuple(out)


def materialize(project: Project, module: nn.Module) -> None:
    """Give lazy parameters their shapes by one forward on zeros of the example inputs (nothing else changes)."""
    if not has_lazy_state(module):
        return
    inputs = example_inputs(project, module)
    modes = [(m, m.training) for m in module.modules()]
    try:
        module.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            module(*inputs)
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ExportError(f"The network failed on its example input while sizing its deferred layers: "
                          f"{type(err).__name__}{': ' + reason if reason else ''}.") from None
    finally:
        for m, mode in modes:
            m.training = mode
    if has_lazy_state(module):
        raise ExportError("Some deferred layers were not reached by the example input, so their sizes are unknown.")


def tensors_for_file(module: nn.Module) -> dict[str, torch.Tensor]:
    """``module.state_dict()`` as it is (on its device, no copies), except that a tensor already listed
    under an earlier name (a tied weight) is copied: the streaming writer stores aliases of one tensor
    once, and a plain ``load_file`` would then miss the second name."""
    out: dict[str, torch.Tensor] = {}
    seen: set[tuple] = set()
    for key, value in module.state_dict().items():
        t = value.detach()
        identity = alias_key(t)
        if identity is not None and identity in seen:
            t = t.clone(memory_format=torch.contiguous_format)
        elif identity is not None:
            seen.add(identity)
        out[key] = t
    return out


def state_dict_for_saving(module: nn.Module) -> dict[str, torch.Tensor]:
    """``module.state_dict()`` on the CPU, each entry its own contiguous tensor (safetensors refuses sharing)."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, value in module.state_dict().items():
        t = value.detach().cpu()
        ptr = t.untyped_storage().data_ptr()
        if ptr in seen or not t.is_contiguous() or t.storage_offset() or t.untyped_storage().nbytes() != t.nbytes:
            t = t.clone(memory_format=torch.contiguous_format)
        seen.add(t.untyped_storage().data_ptr())
        out[key] = t
    return out


def _device_of(module: nn.Module) -> torch.device:
    for t in (*module.parameters(), *module.buffers()):
        return t.device
    return torch.device("cpu")
