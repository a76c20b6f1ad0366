"""Refusing what a file declares before anything it declares is allocated.

A file states its own sizes (a safetensors header, a zip directory, the
numbers in a pickle); a hostile one states sizes it does not hold, or that no
machine holds.  Readers compare every such size with what the file can hold
and with :func:`netstudio.limits.memory_budget` first, and refuse with
:class:`FileTooLargeError`, whose message says how big the thing would have
been.
"""

from __future__ import annotations

from pathlib import Path

from netstudio.errors import FileFormatError
from netstudio.files.safe_read import quoted_name
from netstudio.limits import format_bytes, memory_budget

#: Unpickled objects take far more memory than their pickle: an EMPTY_SET
#: opcode is one byte and a Python set over 200, so a pickle may use at most
#: ``budget / PICKLE_EXPANSION`` bytes.
PICKLE_EXPANSION = 256


class FileTooLargeError(FileFormatError):
    """A file declares more data than the memory budget allows (or than it could hold)."""


def check_budget(path: Path, nbytes: int, what: str) -> None:
    """Refuse ``nbytes`` of ``what`` (e.g. "its tensors") when it exceeds the memory budget."""
    budget = memory_budget()
    if nbytes > budget:
        raise FileTooLargeError(
            f"{quoted_name(path)} would need {format_bytes(nbytes)} for {what}, "
            f"more than the memory budget of {format_bytes(budget)}."
        )


def pickle_limit() -> int:
    """The most pickle bytes one file may ask the unpickler to read."""
    return max(1, memory_budget() // PICKLE_EXPANSION)


def check_pickle_size(path: Path, nbytes: int) -> None:
    """Refuse a pickle of ``nbytes`` bytes that could unpickle beyond the budget."""
    if nbytes > pickle_limit():
        raise pickle_too_large(path, nbytes)


def pickle_too_large(path: Path, nbytes: int) -> FileTooLargeError:
    """The refusal of a pickle of ``nbytes`` (or more) bytes."""
    return FileTooLargeError(
        f"{quoted_name(path)} holds {format_bytes(nbytes)} or more of pickled structure, which could take up to "
        f"{format_bytes(nbytes * PICKLE_EXPANSION)} once unpickled, more than the memory budget of "
        f"{format_bytes(memory_budget())}."
    )
