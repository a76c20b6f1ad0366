"""Bounds on the JSON of a project, checked before and right after parsing.

``json.loads`` accepts things that break NetStudio later, far from the file:

* integers of any length (Python refuses to convert more than 4,300 digits,
  with a plain ``ValueError``; ``10**400`` parses, then ``f"{v:g}"`` raises
  ``OverflowError`` in the checker), and literals like ``1e400`` that become
  ``inf``;
* nesting deep enough that every recursive consumer (the schema validator,
  ``copy.deepcopy``, the checker) raises ``RecursionError``;
* lone surrogates (``"\\ud800"``): a Python string, but not text, so every
  later save fails with ``UnicodeEncodeError``.  Such files are refused, not
  repaired: a name that changed silently would no longer match its weights;
* sheer volume: a few bytes of JSON (``[],``) become a 56-byte object, so a
  64 MB file of them is 1.5 GB, and each schema error is kilobytes more.

So :func:`parse_json` bounds the bytes, roughly counts the values with C-speed
``bytes.count`` before parsing, parses numbers through hooks that never build
a huge integer, and :func:`value_problem` walks the result iteratively (the
walk itself cannot overflow the stack) and names the JSON path of the first
problem.  The same walk guards saving, so NetStudio never writes a file it
would refuse to open.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..errors import ProjectFormatError

MAX_JSON_BYTES = 64 << 20      # a 10,000-block project is about 3 MB
MAX_VALUES = 2_000_000         # commas and brackets; a 10,000-block project has about 150,000
MAX_DEPTH = 64                 # objects and arrays inside each other; a project needs about 8
INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1
_MAX_INT_CHARS = 40            # longer integer literals are never converted
_MAX_FLOAT_CHARS = 1100        # the longest exact decimal of a double is 767 digits
_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]+\Z")


class _Unreadable:
    """A number literal that NetStudio will not convert; ``value_problem`` reports it with its path."""

    __slots__ = ("problem",)

    def __init__(self, problem: str):
        self.problem = problem


def _parse_int(text: str) -> int | _Unreadable:
    if len(text) <= _MAX_INT_CHARS:
        return int(text)
    digits = len(text.lstrip("-"))
    return _Unreadable(f"the integer {text[:12]}... ({digits} digits) is beyond what a 64-bit integer can hold")


def _parse_float(text: str) -> float | _Unreadable:
    if len(text) > _MAX_FLOAT_CHARS:
        return _Unreadable(f"a number written with {len(text)} characters is too long")
    value = float(text)
    if math.isinf(value):
        return _Unreadable(f"{_short(text)} is too large for a floating-point number")
    return value


def parse_json(name: str, raw: bytes) -> Any:
    """Decode and parse a project file's bytes; a one-sentence :class:`ProjectFormatError` otherwise."""
    count = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if count > MAX_VALUES:
        raise ProjectFormatError(f"{name} cannot be opened: it holds about {count:,} values, "
                                 f"more than the {MAX_VALUES:,} a project may have.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectFormatError(f"{name} cannot be opened: it is not a NetStudio project (not text).") from None
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except json.JSONDecodeError as err:
        raise ProjectFormatError(f"{name} cannot be opened: it is not valid JSON "
                                 f"(line {err.lineno}, column {err.colno}: {err.msg}).") from None
    except RecursionError:
        raise ProjectFormatError(f"{name} cannot be opened: its values are nested more than "
                                 f"{MAX_DEPTH} levels deep.") from None
    except ValueError as err:   # any other refusal of the parser
        raise ProjectFormatError(f"{name} cannot be opened: it is not valid JSON ({_short(str(err))}).") from None


def value_problem(data: Any) -> tuple[str, str] | None:
    """``(json_path, problem)`` for the first value NetStudio cannot hold, or None.

    Iterative, so depth is checked before anything recursive sees the data.
    Non-finite floats (``NaN``, ``Infinity``) pass here: some parameters take
    them; the validator refuses them where they make no sense (positions).
    """
    if not isinstance(data, (dict, list, tuple)):
        return _scalar_problem(data, ())
    stack: list[tuple[Any, tuple]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) >= MAX_DEPTH:
            return format_path(path), f"values are nested more than {MAX_DEPTH} levels deep"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                if not key.isascii() and _SURROGATE.search(key):
                    return format_path(path + (key,)), f"the key {_surrogate_problem(key)}"
            elif isinstance(value, dict) and not isinstance(key, (int, float, bool)) and key is not None:
                return format_path(path), f"a key of type {type(key).__name__} cannot be written as JSON"
            kind = type(item)
            if kind is dict or kind is list or kind is tuple:
                stack.append((item, path + (key,)))
            elif kind is not bool and kind is not float and item is not None:
                problem = _scalar_problem(item, path + (key,))
                if problem:
                    return problem
    return None


def _scalar_problem(item: Any, path: tuple) -> tuple[str, str] | None:
    if isinstance(item, str):
        if not item.isascii() and _SURROGATE.search(item):
            return format_path(path), f"the text {_surrogate_problem(item)}"
        return None
    if isinstance(item, bool) or item is None or isinstance(item, float):
        return None
    if isinstance(item, int):
        if INT_MIN <= item <= INT_MAX:
            return None
        return format_path(path), f"the integer {_short(str(item)) if item.bit_length() < 4000 else '...'} " \
                                  f"is beyond what a 64-bit integer can hold"
    if isinstance(item, _Unreadable):
        return format_path(path), item.problem
    return format_path(path), f"a value of type {type(item).__name__} cannot be written as JSON"


def _surrogate_problem(text: str) -> str:
    char = _SURROGATE.search(text).group()
    return (f"contains {ascii(char)[1:-1]}, half of a UTF-16 surrogate pair, "
            f"which is not a character and cannot be saved")


def format_path(parts) -> str:
    """``$.definitions.main.nodes[2].params['odd key']``; long paths keep their first twelve steps."""
    parts = list(parts)
    shown = parts[:12] if len(parts) > 16 else parts
    out = "$"
    for p in shown:
        if isinstance(p, int) and not isinstance(p, bool):
            out += f"[{p}]"
        elif isinstance(p, str) and _PLAIN_KEY.match(p) and len(p) <= 40:
            out += f".{p}"
        else:
            out += f"[{ascii(_short(str(p)))}]"
    return out + ("..." if len(shown) < len(parts) else "")


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
