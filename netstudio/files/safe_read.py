"""Opening and reading files that may be hostile.

A path given to NetStudio may name something that is not a file at all:
``/dev/zero`` reads forever, a FIFO blocks ``open`` until a writer comes, a
socket cannot be opened.  So :func:`open_regular_file` refuses anything that
is not a regular file, before opening it when it can (``stat``) and again on
the open descriptor (``fstat``), which closes the race where the path is
swapped for a FIFO in between; the open itself is non-blocking so even that
swap cannot hang.  :func:`read_at_most` then reads with a running count,
because a file's size can change while it is read (and ``/proc`` files claim
size 0): the bound holds whatever ``stat`` said.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
import stat
from pathlib import Path
from typing import BinaryIO

from ..errors import FileFormatError
from ..limits import format_bytes

CHUNK = 1 << 20

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a disk device"), (stat.S_ISSOCK, "a socket"))


class TooLarge(Exception):
    """More bytes than the bound; ``size`` is what was seen (at least bound + 1)."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def display_name(path: str | os.PathLike) -> str:
    """The file name as messages show it: quoted and escaped if it holds a newline or other odd characters,
    so that a message stays one line."""
    name = Path(path).name
    return name if name.isprintable() else ascii(name)


def quoted_name(path: str | os.PathLike) -> str:
    """``'name'`` for messages, escaped (``'a\\nb'``) when the name holds a newline or other odd characters."""
    name = Path(path).name
    return f"'{name}'" if name.isprintable() else ascii(name)


@contextmanager
def reading(path: str | os.PathLike) -> Iterator[None]:
    """Operating-system errors while reading ``path`` as one sentence each (missing, a folder, other)."""
    try:
        yield
    except FileNotFoundError:
        raise FileFormatError(f"{quoted_name(path)} does not exist.") from None
    except IsADirectoryError:
        raise FileFormatError(f"{quoted_name(path)} is a folder, not a file.") from None
    except OSError as err:
        raise FileFormatError(f"{quoted_name(path)} cannot be read: {(err.strerror or str(err)).rstrip('.')}.") from None


def open_regular_file(path: str | os.PathLike) -> BinaryIO:
    """An open binary file for ``path``, or a one-sentence :class:`FileFormatError`."""
    p = Path(path)
    try:
        _require_regular(p, os.stat(p).st_mode)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(p, flags)
    except OSError as err:
        raise FileFormatError(f"Cannot read {display_name(p)}: {_reason(err)}.") from None
    try:
        _require_regular(p, os.fstat(fd).st_mode)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_at_most(f: BinaryIO, limit: int) -> bytes:
    """The rest of ``f``, or :class:`TooLarge` as soon as it passes ``limit`` bytes (never reading much past it)."""
    parts, total = [], 0
    while True:
        chunk = f.read(min(CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        total += len(chunk)
        if total > limit:
            raise TooLarge(total)


def too_large_message(name: str, what: str, size: int, limit: int) -> str:
    """``net.netstudio is 70.0 MB, more than the 64.0 MB a project file may have.``"""
    return f"{name} is {format_bytes(size)}, more than the {format_bytes(limit)} {what} may have."


def _require_regular(p: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise FileFormatError(f"{display_name(p)} is a folder, not a file.")
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise FileFormatError(f"{display_name(p)} is not a regular file (it is {kind}), so NetStudio will not read it.")


def _reason(err: OSError) -> str:
    return " ".join((err.strerror or str(err)).split()).rstrip(".")
