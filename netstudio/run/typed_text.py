"""Shapes and indices as people type them, in the app and on the command line: one reading of
``2, 20``, ``(2, 20)``, ``2x20`` or ``2 20``, and of ``0, 0`` or ``[0][0]``."""

from __future__ import annotations

import re

from netstudio.errors import NetStudioError, RunError


def parse_shape(text: str, minimum: int = 1) -> list[int]:
    """``"2, 20"``, ``"(2, 20)"``, ``"2x20"`` or ``"2 20"`` -> ``[2, 20]``; every size at least ``minimum``."""
    inner = text.strip().removeprefix("(").removeprefix("[").removesuffix(")").removesuffix("]").strip()
    valid = re.fullmatch(r"\d+(?:\s*[,x×]\s*\d+|\s+\d+)*\s*,?", inner)
    shape = [int(n) for n in re.findall(r"\d+", inner)] if valid else []
    if not shape or any(n < minimum for n in shape):
        raise RunError(f"'{text.strip()}' is not a shape; type whole numbers of at least {minimum}, such as 2, 20.")
    return shape


def parse_index(text: str) -> tuple[int, ...]:
    """``"0, 0"``, ``"[0][0]"`` or ``"0 0"`` -> ``(0, 0)``."""
    cleaned = text.replace("[", " ").replace("]", " ").replace(",", " ").split()
    if not cleaned:
        raise NetStudioError("Type the element's index, such as 0, 0.")
    try:
        return tuple(int(part) for part in cleaned)
    except ValueError:
        raise NetStudioError(f"'{text.strip()}' is not an index; type whole numbers such as 0, 0.") from None
