"""Typed hyperparameters of a block: defaults, ranges and one-sentence validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Anything larger is almost certainly a typo, and would only be shape-inferred anyway.
MAX_DIM = 1 << 40
# Features, channels and vocabulary sizes: 16.7 million is far beyond any real layer, and keeps one
# hyperparameter from asking for gigabytes (Linear(1, 5e8) is 4 GB).  The memory budget does the rest.
MAX_FEATURES = 1 << 24


@dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter.

    ``kind`` is one of ``int``, ``float``, ``bool``, ``choice``, ``str``,
    ``shape`` (a list of non-negative ints), ``ints`` (a list of ints, e.g. a
    kernel size as ``[3, 3]``), ``values`` (a nested list of numbers) or
    ``json`` (a JSON object, e.g. the arguments of a code block).
    ``optional`` means ``None`` is allowed; for ``in_features`` that means
    *deferred*: the size is taken from the first input.  ``accepts_int``: an
    ``ints`` value may also be a bare whole number (torch repeats it for every
    dimension, as ``Conv3d(kernel_size=3)``); it is stored as given.
    """

    name: str
    kind: str
    default: Any = None
    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    optional: bool = False
    key: bool = False  # shown on the node in the canvas
    length: tuple[int, int] | None = None  # allowed list lengths for shape/ints
    accepts_int: bool = False

    def validate(self, value: Any) -> str | None:
        """Return None when ``value`` is acceptable, else a sentence fragment saying why not."""
        if value is None:
            return None if self.optional else f"'{self.name}' is required"
        check = _CHECKS.get(self.kind)
        if check is None:  # pragma: no cover - a catalog bug, caught by the catalog tests
            return f"'{self.name}' has unknown kind {self.kind!r}"
        return check(self, value)

    def describe_range(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            return f"between {_number(lo)} and {_number(hi)}"
        if lo is not None:
            return f"at least {_number(lo)}"
        if hi is not None:
            return f"at most {_number(hi)}"
        return ""


def _number(x: int | float) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool))


def _range(spec: ParamSpec, v: int | float) -> str | None:
    if v != v:  # NaN
        return f"'{spec.name}' must be a number, not NaN"
    if (spec.minimum is not None and v < spec.minimum) or (spec.maximum is not None and v > spec.maximum):
        shown = f"{v:g}" if isinstance(v, float) else (str(v) if abs(v) < 10 ** 15 else f"{float(v):.3g}")
        return f"'{spec.name}' must be {spec.describe_range()}, not {shown}"
    return None


def _check_int(spec: ParamSpec, v: Any) -> str | None:
    if not _is_int(v):
        return f"'{spec.name}' must be a whole number, not {v!r}"
    return _range(spec, v)


def _check_float(spec: ParamSpec, v: Any) -> str | None:
    if not _is_number(v):
        return f"'{spec.name}' must be a number, not {v!r}"
    if v in (float("inf"), float("-inf")):
        return f"'{spec.name}' must be finite"
    return _range(spec, v)


def _check_bool(spec: ParamSpec, v: Any) -> str | None:
    return None if isinstance(v, bool) else f"'{spec.name}' must be true or false, not {v!r}"


def _check_choice(spec: ParamSpec, v: Any) -> str | None:
    return None if v in spec.choices else f"'{spec.name}' must be {spec.describe_range()}, not {v!r}"


def _check_str(spec: ParamSpec, v: Any) -> str | None:
    return None if isinstance(v, str) and v else f"'{spec.name}' must be a non-empty text"


def _check_list(spec: ParamSpec, v: Any, minimum: int) -> str | None:
    if not isinstance(v, (list, tuple)) or not all(_is_int(x) for x in v):
        return f"'{spec.name}' must be a list of whole numbers, not {v!r}"
    if spec.length and not spec.length[0] <= len(v) <= spec.length[1]:
        lo, hi = spec.length
        count = str(lo) if lo == hi else f"{lo} to {hi}"
        return f"'{spec.name}' must have {count} entries, not {len(v)}"
    for x in v:
        if x < minimum or x > MAX_DIM:
            return f"'{spec.name}' entries must be between {minimum} and {MAX_DIM}, not {x}"
    return None


def _check_shape(spec: ParamSpec, v: Any) -> str | None:
    return _check_list(spec, v, 0)


def _check_ints(spec: ParamSpec, v: Any) -> str | None:
    minimum = int(spec.minimum) if spec.minimum is not None else 0
    if spec.accepts_int and _is_int(v):
        if v < minimum or v > MAX_DIM:
            return f"'{spec.name}' must be between {minimum} and {MAX_DIM}, not {v}"
        return None
    return _check_list(spec, v, minimum)


def _check_values(spec: ParamSpec, v: Any) -> str | None:
    def ok(x: Any) -> bool:
        if isinstance(x, list):
            return all(ok(y) for y in x)
        return _is_number(x)
    return None if ok(v) else f"'{spec.name}' must be a number or nested lists of numbers"


def _check_json(spec: ParamSpec, v: Any) -> str | None:
    return None if isinstance(v, dict) else f"'{spec.name}' must be an object of named values"


_CHECKS = {
    "int": _check_int,
    "float": _check_float,
    "bool": _check_bool,
    "choice": _check_choice,
    "str": _check_str,
    "shape": _check_shape,
    "ints": _check_ints,
    "values": _check_values,
    "json": _check_json,
}
