"""Turns a code block's source into its ``nn.Module`` class, only when trusted.

The source runs with ``torch``, ``nn``, ``F`` and ``math`` in scope, as the
seed's examples assume.  Classes are cached by source, so re-checking the graph
after every edit does not re-run the code.
"""

from __future__ import annotations

import math
import traceback

import torch
from torch import nn
from torch.nn import functional as F

from .code_block import CodeSyntaxError, find_class

_CACHE: dict[tuple[str, str], type] = {}


class CodeError(Exception):
    """A code block failed to compile or run; the message is one sentence fragment."""


def describe_exception(err: BaseException, filename: str = "<code>") -> str:
    """``line 4: ValueError: bad value`` for the innermost frame of user code."""
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    what = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return f"line {line}: {what}" if line else what


def load_code_class(source: str, class_name: str) -> type[nn.Module]:
    key = (class_name, source)
    if key in _CACHE:
        return _CACHE[key]
    try:
        find_class(source, class_name)
    except CodeSyntaxError as err:
        raise CodeError(str(err)) from None
    filename = f"<code {class_name}>"
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "__name__": f"netstudio_code.{class_name}"}
    try:
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - trusted projects only
    except Exception as err:  # user code: any exception becomes a diagnostic
        raise CodeError(describe_exception(err, filename)) from None
    cls = namespace.get(class_name)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise CodeError(f"{class_name} must be a subclass of nn.Module")
    _CACHE[key] = cls
    return cls


def instantiate(cls: type[nn.Module], args: dict) -> nn.Module:
    """``cls(**args)``, with any exception turned into a CodeError."""
    try:
        return cls(**args)
    except Exception as err:
        raise CodeError(f"{cls.__name__}(...) raised {describe_exception(err, f'<code {cls.__name__}>')}") from None
