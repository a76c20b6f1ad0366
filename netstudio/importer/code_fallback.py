"""The source and arguments of a code block standing for a module that cannot become blocks.

A torch.nn class no block expresses becomes a subclass that only names its inputs; an
installed library's class (torchvision's) is imported from its library; the user's own
class is copied as source.  Its constructor's arguments come from the constructor record,
else from attributes of the same names.
"""

from __future__ import annotations

import inspect
import sys
import sysconfig
from pathlib import Path
from typing import Any

from torch import nn

from ..export.constructors import is_literal
from .class_source import class_source
from .constructor_record import ConstructorRecord
from .errors import ImportFailed
from .module_blocks import constructor_arguments


def fallback_source(module: nn.Module, path: str, reason: str,
                    record: ConstructorRecord | None) -> tuple[str, dict[str, Any]]:
    """(class source, constructor arguments) for ``module``'s code block."""
    cls = type(module)
    class_name = cls.__name__
    if getattr(nn, class_name, None) is cls:   # torch.nn's own source needs torch's internals
        return _torch_subclass(module, path, reason)
    library = _library_path(cls)
    try:   # a library's class is imported: its source would need the library's internals
        source = _library_subclass(cls, library) if library else class_source(cls)
    except (OSError, TypeError):
        raise ImportFailed(f"{path or 'The model'} ({class_name}) cannot become blocks ({reason}), "
                           "and its class has no source to run as code.") from None
    recorded = record.arguments(module) if record is not None else None
    return source, recorded if recorded is not None else _constructor_args(module, class_name, path, reason)


def _torch_subclass(module: nn.Module, path: str, reason: str) -> tuple[str, dict[str, Any]]:
    """Source for a torch.nn class no block can express: a subclass that only names its inputs."""
    cls = type(module)
    args = constructor_arguments(module)
    if args is None:
        raise ImportFailed(f"{path or 'The model'} ({cls.__name__}) cannot become a block ({reason}), and "
                           "NetStudio cannot tell which arguments built it.")
    names = ", ".join(_forward_argument_names(cls))
    source = (f"class {cls.__name__}(nn.{cls.__name__}):\n"
              f'    """torch.nn.{cls.__name__}, as a code block: no block expresses its arguments."""\n\n'
              f"    def forward(self, {names}):\n        return super().forward({names})\n")
    return source, {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()}


def _library_path(cls: type) -> str | None:
    """``package.module`` when ``cls`` comes from an installed library (torchvision's blocks), whose source
    needs the library's internals; None for the user's own code, which is copied as source."""
    name = getattr(cls, "__module__", "") or ""
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if not file or "<" in cls.__qualname__ or getattr(module, cls.__qualname__, None) is not cls \
            or not all(part.isidentifier() for part in name.split(".")):
        return None
    installed = {Path(p).resolve() for key in ("purelib", "platlib") if (p := sysconfig.get_paths().get(key))}
    where = Path(file).resolve()
    return name if any(folder in where.parents for folder in installed) else None


def _library_subclass(cls: type, module: str) -> str:
    params = _forward_argument_names(cls)
    names = ", ".join(params)
    return (f"from {module} import {cls.__name__} as _{cls.__name__}\n\n\n"
            f"class {cls.__name__}(_{cls.__name__}):\n"
            f'    """{module}.{cls.__name__}, as a code block: imported from its library."""\n\n'
            f"    def forward(self, {names}):\n        return super().forward({names})\n")


def _forward_argument_names(cls: type) -> list[str]:
    return [p.name for p in list(inspect.signature(cls.forward).parameters.values())[1:]
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]


def _constructor_args(module: nn.Module, class_name: str, path: str, reason: str) -> dict[str, Any]:
    """Keyword arguments for the class's constructor, read from attributes of the same name."""
    try:
        params = list(inspect.signature(type(module).__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        params = []
    args: dict[str, Any] = {}
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        value = getattr(module, p.name, inspect.Parameter.empty)
        if value is not inspect.Parameter.empty and is_literal(value) and not isinstance(value, tuple):
            args[p.name] = value
        elif p.default is p.empty:
            raise ImportFailed(f"{path or 'The model'} ({class_name}) cannot become blocks ({reason}), and "
                               f"NetStudio cannot tell which {p.name!r} built it.")
    return args
