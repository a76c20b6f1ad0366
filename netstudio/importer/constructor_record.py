"""The arguments each module of a model was built with, recorded while the model is built.

A code block rebuilds its class from keyword arguments, but a module rarely keeps
all of them (d2l's ``DenseBlock(num_convs, input_channels, num_channels)`` keeps
none).  When NetStudio builds the model itself (``netstudio import``, the import
dialog), a profile hook notes the arguments of every ``__init__`` of an
``nn.Module`` subclass outside torch as it runs; only literal values are kept.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from torch import nn

from ..export.constructors import is_literal


class ConstructorRecord:
    """``with ConstructorRecord() as record: model = Net()``; then ``record.arguments(module)``."""

    def __init__(self):
        self._seen: dict[int, tuple[nn.Module, dict[str, Any] | None]] = {}
        self._previous = None

    def __enter__(self) -> "ConstructorRecord":
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc) -> None:
        sys.setprofile(self._previous)

    def _profile(self, frame, event, arg) -> None:
        if event != "call" or frame.f_code.co_name != "__init__":
            return
        module = frame.f_locals.get("self")
        if not isinstance(module, nn.Module) or id(module) in self._seen:
            return
        if type(module).__module__.split(".")[0] == "torch" or frame.f_code is not type(module).__init__.__code__:
            return   # torch's own classes, and the base classes' __init__ called through super()
        info = inspect.getargvalues(frame)
        if info.varargs or info.keywords:
            self._seen[id(module)] = (module, None)
            return
        values = {name: _plain(frame.f_locals[name]) for name in info.args[1:]}
        self._seen[id(module)] = (module, values if all(is_literal(v) for v in values.values()) else None)

    def arguments(self, module: nn.Module) -> dict[str, Any] | None:
        """The keyword arguments ``module`` was built with, or None when unknown or not literal."""
        seen = self._seen.get(id(module))
        return seen[1] if seen is not None and seen[0] is module else None


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
