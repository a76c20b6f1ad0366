"""Names: what PyTorch accepts as a module name, and a free variant of a taken one."""

from __future__ import annotations

import re

_DOTS = re.compile(r"\.+")


def sanitize_name(name: str) -> str:
    """A usable module name: no dots (PyTorch forbids them), no leading/trailing space."""
    return _DOTS.sub("_", name.strip()).strip("_")


def fresh_name(base: str, taken, sep: str = "_") -> str:
    """``base`` if free, else ``base_2``, ``base_3``... (``sep`` joins the number)."""
    if base not in taken:
        return base
    i = 2
    while f"{base}{sep}{i}" in taken:
        i += 1
    return f"{base}{sep}{i}"
