"""Where a model comes from: ``file.py:NAME``, ``package.module:NAME`` or ``model.onnx``.

Loading a Python file runs it: that is the user's act, as ``python file.py``
would be.  Every way this can fail (a missing file, a name that is not there,
a constructor that raises) ends in one sentence, never a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from torch import nn

from .constructor_record import ConstructorRecord
from .errors import ImportFailed
from .onnx_import import is_onnx, onnx_module


def load_model(source: str, record: ConstructorRecord | None = None) -> tuple[nn.Module, str]:
    """The module named by ``source`` and a short name for it; ``record`` notes its modules' arguments."""
    if is_onnx(source):   # read as data, never run: its graph rebuilt from torch.nn modules (see .onnx_import)
        module, _, name = onnx_module(source)
        return module, name
    where, sep, name = source.rpartition(":")
    if not sep or not where or not name:
        raise ImportFailed(f"'{source}' does not name a model: write path/to/file.py:NAME or package.module:NAME.")
    namespace = _load_file(where) if where.endswith(".py") or "/" in where or "\\" in where else _load_package(where)
    target = namespace.get(name) if isinstance(namespace, dict) else getattr(namespace, name, None)
    if target is None:
        raise ImportFailed(f"{where} has no {name!r}.")
    if record is None:
        return _instantiate(target, name), name
    with record:
        return _instantiate(target, name), name


def _load_file(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise ImportFailed(f"There is no file {path!r}.")
    spec = importlib.util.spec_from_file_location(f"netstudio_import_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise ImportFailed(f"{path!r} is not a Python file NetStudio can load.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses and pickling look classes up here
    try:
        spec.loader.exec_module(module)
    except BaseException as err:   # the user's code: whatever it raises, one sentence
        sys.modules.pop(spec.name, None)
        raise ImportFailed(f"Running {file.name} failed: {_describe(err)}.") from None
    return vars(module)


def _load_package(name: str) -> Any:
    try:
        if name == "torchvision" or name.startswith("torchvision."):
            from .torchvision_models import import_torchvision_module
            return import_torchvision_module(name)
        return importlib.import_module(name)
    except BaseException as err:
        raise ImportFailed(f"Importing {name} failed: {_describe(err)}.") from None


def _instantiate(target: Any, name: str) -> nn.Module:
    if isinstance(target, nn.Module):
        return target
    if not callable(target):
        raise ImportFailed(f"{name} is neither an nn.Module class nor a function that returns one.")
    try:
        made = target()
    except TypeError as err:
        if inspect.isclass(target):
            raise ImportFailed(f"{name}() cannot be built without arguments: {_describe(err)}.") from None
        raise ImportFailed(f"{name}() failed: {_describe(err)}.") from None
    except BaseException as err:
        raise ImportFailed(f"{name}() failed: {_describe(err)}.") from None
    if not isinstance(made, nn.Module):
        raise ImportFailed(f"{name}() returns a {type(made).__name__}, not an nn.Module.")
    return made


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    message = text[0] if text else ""
    message = message if len(message) <= 200 else message[:197] + "..."
    return f"{type(err).__name__}: {message}" if message else type(err).__name__
