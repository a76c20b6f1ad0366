"""A free variant of a taken name: ``relu``, ``relu_2``, ``relu_3``..."""

from __future__ import annotations


def fresh_name(base: str, taken, sep: str = "_") -> str:
    """``base`` if free, else ``base_2``, ``base_3``... (``sep`` joins the number)."""
    if base not in taken:
        return base
    i = 2
    while f"{base}{sep}{i}" in taken:
        i += 1
    return f"{base}{sep}{i}"
