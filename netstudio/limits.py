"""How much memory NetStudio lets one file or one network claim.

A 900-byte project can ask for ``Linear(1, 5e8)``, and a 2 MB archive can
inflate to gigabytes.  Every size read from a file is compared with these
limits before anything is allocated or inflated, and the message says how big
the thing would have been.

The budget is a setting: ``set_memory_budget`` (the app stores it in its
preferences, the command line takes ``--memory-budget``), or the environment
variable ``NETSTUDIO_MEMORY_BUDGET`` (bytes, or a number with KB/MB/GB/TB).
By default it is half of the machine's physical memory.
"""

from __future__ import annotations

import os
import re

from .errors import NetStudioError

DEFAULT_FRACTION = 0.5
ENV_VAR = "NETSTUDIO_MEMORY_BUDGET"
_FALLBACK_MEMORY = 8 << 30   # when the machine will not say
_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?B?)\s*\Z", re.IGNORECASE)

_budget: int | None = None


def machine_memory() -> int:
    """Physical memory in bytes (a fallback of 8 GiB where the system cannot tell)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return _FALLBACK_MEMORY


def parse_size(text: str) -> int:
    """``"6GB"``, ``"512 MB"``, ``"1.5gb"`` or plain bytes; raises ``NetStudioError`` otherwise."""
    m = _SIZE.match(str(text))
    if not m:
        raise NetStudioError(f"{text!r} is not a size such as 6GB or 512MB.")
    unit = m.group(2).upper()
    unit = unit if unit.endswith("B") or not unit else unit + "B"
    value = int(float(m.group(1)) * _UNITS[unit])
    if value <= 0:
        raise NetStudioError(f"A memory budget must be more than zero, not {text!r}.")
    return value


def memory_budget() -> int:
    """The most bytes one network's parameters and buffers, or one file's tensors, may take."""
    if _budget is not None:
        return _budget
    env = os.environ.get(ENV_VAR)
    if env:
        try:
            return parse_size(env)
        except NetStudioError:
            pass   # a bad variable must not make every file unreadable; the default applies
    return int(machine_memory() * DEFAULT_FRACTION)


def set_memory_budget(nbytes: int | None) -> None:
    """Set the budget for this process; None goes back to the default."""
    global _budget
    if nbytes is not None and nbytes <= 0:
        raise NetStudioError("A memory budget must be more than zero bytes.")
    _budget = int(nbytes) if nbytes is not None else None


def format_bytes(nbytes: int | float) -> str:
    """``4.0 GB``, ``512.0 MB``, ``900 bytes``: sizes as people read them."""
    size = float(nbytes)
    if size < 1024:
        return f"{int(size)} bytes"
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        size /= 1024
        if size < 1024 or unit == "PB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")
