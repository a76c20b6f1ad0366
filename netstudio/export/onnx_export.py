"""ONNX export through ``torch.onnx.export``, when the optional ``onnx`` package is installed.

torch's own exporter needs ``onnx`` (and, for the torch.export-based exporter
that is torch's default, ``onnxscript``); NetStudio does not depend on either.
Without ``onnxscript`` the TorchScript-based exporter is used.  The network is
exported in eval mode (its mode is restored afterwards) and the file is
written atomically.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import NetStudioError
from ..files.atomic import atomic_write_bytes


def onnx_available() -> bool:
    return importlib.util.find_spec("onnx") is not None


def require_onnx() -> None:
    if not onnx_available():
        raise NetStudioError("ONNX export needs the onnx package, which is not installed (pip install onnx).")


def export_onnx(module: nn.Module, example_input: torch.Tensor | tuple[torch.Tensor, ...],
                path: str | os.PathLike) -> Path:
    """Write ``module`` traced on ``example_input`` to ``path`` as ONNX; returns the path."""
    require_onnx()
    path = Path(path)
    args = example_input if isinstance(example_input, tuple) else (example_input,)
    dynamo = importlib.util.find_spec("onnxscript") is not None
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with tempfile.TemporaryDirectory(dir=path.resolve().parent) as tmp:
            out = Path(tmp) / path.name
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if dynamo:
                    torch.onnx.export(module, args, str(out), dynamo=True, external_data=False)
                else:
                    torch.onnx.export(module, args, str(out), dynamo=False)
            atomic_write_bytes(path, out.read_bytes())
    except NetStudioError:
        raise
    except Exception as err:
        text = str(err).strip()
        reason = text.splitlines()[0].rstrip(".") if text else type(err).__name__
        raise NetStudioError(f"ONNX export failed: {reason}.") from None
    finally:
        for m, mode in modes:
            m.training = mode
    return path
