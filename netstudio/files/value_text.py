"""Short, bounded text for any value found in a checkpoint, and the same value as JSON.

A checkpoint's plain values come from the file: a 10,000-digit integer (whose
``repr`` raises ``ValueError``), a megabyte of bytes, a storage whose ``repr``
lists every element, a list shared a million times.  :func:`value_text`
never builds more than it shows; :func:`json_value` keeps numbers, text and
flat lists as JSON (integers up to 64 bits), writes non-finite floats as the strings ``"inf"``,
``"-inf"`` and ``"nan"`` (JSON has no infinity), and describes anything else
with :func:`value_text`.
"""

from __future__ import annotations

import math
import reprlib

import torch

_MAX_INT_BITS = 4 * 3000  # below Python's 4300-digit limit on int <-> str
_JSON_INT_BITS = 64  # larger integers are written as (shortened) text
_JSON_ITEMS = 10_000  # list items written as JSON before the list is described instead


class _ShortRepr(reprlib.Repr):
    def __init__(self, limit: int):
        super().__init__()
        self.maxlevel = 3
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = 8
        self.maxstring = self.maxother = self.maxlong = limit

    def repr_int(self, x, level):
        if x.bit_length() > _MAX_INT_BITS:
            return f"<int of {x.bit_length():,} bits>"
        return super().repr_int(x, level)

    def repr_instance(self, x, level):
        if isinstance(x, torch.Tensor):
            return "<tensor>" if x.is_nested else f"<tensor of shape {tuple(x.shape)}>"
        if isinstance(x, (torch.UntypedStorage, torch.TypedStorage)):
            return f"<storage of {x.nbytes():,} bytes>"
        if isinstance(x, (bytes, bytearray)):
            text = repr(bytes(x[: self.maxstring]))
            return text + "…" if len(x) > self.maxstring else text
        for kind, method in ((dict, self.repr_dict), (list, self.repr_list), (tuple, self.repr_tuple),
                             (set, self.repr_set), (frozenset, self.repr_frozenset)):
            if isinstance(x, kind):
                return f"{type(x).__name__}({method(x, level)})"
        try:
            text = repr(x)
        except Exception:  # a value from a file may not even have a working repr
            return f"<{type(x).__name__}>"
        return text if len(text) <= self.maxother else text[: self.maxother - 1] + "…"


def value_text(value: object, limit: int = 200) -> str:
    """A one-line description of ``value`` of at most about ``limit`` characters."""
    text = " ".join(_ShortRepr(limit).repr(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_value(value: object) -> object:
    """``value`` as JSON (see the module docstring)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= _JSON_INT_BITS else value_text(value, 60)
    if isinstance(value, float):
        return value if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if type(value) in (list, tuple) and len(value) <= _JSON_ITEMS and all(
        v is None or isinstance(v, (bool, int, float, str)) for v in value
    ):
        return [json_value(v) for v in value]
    if isinstance(value, dict) and not value:
        return {}
    return value_text(value)
