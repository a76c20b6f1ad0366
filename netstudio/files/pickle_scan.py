"""A dry run of a PyTorch pickle: which storages it declares, without building or running anything.

``torch.load`` allocates every storage a pickle declares (``numel`` times the
element size, straight from the pickle) before it reads the bytes; a legacy
file can declare terabytes in a few bytes.  :func:`scan_pickle` walks one
pickle stream with a stack machine that knows only the opcodes torch's
weights-only unpickler accepts.  It never imports or calls anything: globals
become names, containers become placeholders (their contents are not kept),
and only tuples and short scalars are real, because persistent ids
(``("storage", type, key, location, numel, ...)``) are built from them.  Its
memory is a few words per opcode, and it stops once ``max_bytes`` of pickle
have been read.  An opcode torch would refuse ends the scan with
:class:`NotWeightsOnly` so torch can give its own refusal.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

#: Strings longer than this are not kept (persistent ids hold short ones).
_KEEP_TEXT = 256


class ScanError(Exception):
    """The pickle is damaged: truncated, an empty stack, a missing memo entry, bad text."""


class NotWeightsOnly(Exception):
    """An opcode torch's weights-only unpickler refuses; torch will say so itself."""


class ScanTooLong(Exception):
    """The pickle is longer than ``max_bytes``."""


@dataclass(frozen=True)
class Global:
    module: str
    name: str


class _Opaque:
    """A container or an object the scan does not build."""

    __slots__ = ()


_OPAQUE = _Opaque()


@dataclass
class ScanResult:
    value: object  # what STOP returned (tuples and scalars are real, containers are placeholders)
    end: int  # the offset just after STOP
    storages: list[tuple] = field(default_factory=list)  # the ("storage", ...) persistent ids, in order


def scan_pickle(buf, pos: int = 0, max_bytes: int | None = None, storages: list | None = None) -> ScanResult:
    """Dry-run the pickle starting at ``buf[pos]``; ``buf`` is ``bytes`` or an ``mmap``.

    Storage ids found are appended to ``storages`` (a new list by default) as
    they are met, so a caller still has them when the scan ends in an exception.
    """
    n = len(buf)
    limit = n if max_bytes is None else min(n, pos + max_bytes)
    stack: list = []
    metastack: list[list] = []
    memo: dict[int, object] = {}
    storages = [] if storages is None else storages

    def take(count: int, keep: bool = True) -> bytes:
        nonlocal pos
        if pos + count > limit:
            if pos + count > n:
                raise ScanError("the pickle ends in the middle of an instruction")
            raise ScanTooLong
        data = buf[pos : pos + count] if keep else b""
        pos += count
        return data

    def line() -> str:
        nonlocal pos
        end = buf.find(b"\n", pos, limit)
        if end < 0:
            if limit < n:
                raise ScanTooLong
            raise ScanError("the pickle ends in the middle of a name")
        text = buf[pos:end]
        pos = end + 1
        return _text(text)

    def pop():
        if not stack:
            raise ScanError("the pickle takes from an empty stack")
        return stack.pop()

    def top():
        if not stack:
            raise ScanError("the pickle takes from an empty stack")
        return stack[-1]

    def pop_mark() -> list:
        nonlocal stack
        if not metastack:
            raise ScanError("the pickle closes a mark it never opened")
        items, stack = stack, metastack.pop()
        return items

    while True:
        if pos >= limit:
            if limit < n:
                raise ScanTooLong
            raise ScanError("the pickle ends without its STOP instruction")
        op = buf[pos]
        pos += 1
        if op == 0x80:  # PROTO
            take(1)
        elif op == 0x2E:  # STOP
            return ScanResult(pop(), pos, storages)
        elif op == 0x63:  # GLOBAL
            module = line()
            stack.append(Global(module, line()))
        elif op in (0x81, 0x52):  # NEWOBJ, REDUCE: (cls or func, args) -> object
            pop()
            top()
            stack[-1] = _OPAQUE
        elif op in (0x62, 0x61):  # BUILD, APPEND
            pop()
            top()
        elif op in (0x65, 0x75):  # APPENDS, SETITEMS
            pop_mark()
            top()
        elif op == 0x73:  # SETITEM
            pop()
            pop()
            top()
        elif op == 0x28:  # MARK
            metastack.append(stack)
            stack = []
        elif op == 0x74:  # TUPLE
            items = tuple(pop_mark())  # before naming ``stack``: pop_mark rebinds it
            stack.append(items)
        elif op in (0x85, 0x86, 0x87):  # TUPLE1..3
            size = op - 0x84
            if len(stack) < size:
                raise ScanError("the pickle takes from an empty stack")
            items = tuple(stack[-size:])
            del stack[-size:]
            stack.append(items)
        elif op == 0x4E:  # NONE
            stack.append(None)
        elif op in (0x88, 0x89):  # NEWTRUE, NEWFALSE
            stack.append(op == 0x88)
        elif op == 0x29:  # EMPTY_TUPLE
            stack.append(())
        elif op in (0x5D, 0x7D, 0x8F):  # EMPTY_LIST, EMPTY_DICT, EMPTY_SET
            stack.append(_OPAQUE)
        elif op == 0x4A:  # BININT
            stack.append(struct.unpack("<i", take(4))[0])
        elif op == 0x4B:  # BININT1
            stack.append(take(1)[0])
        elif op == 0x4D:  # BININT2
            stack.append(struct.unpack("<H", take(2))[0])
        elif op == 0x47:  # BINFLOAT
            stack.append(struct.unpack(">d", take(8))[0])
        elif op == 0x58:  # BINUNICODE
            stack.append(_string(take, struct.unpack("<I", take(4))[0]))
        elif op == 0x55:  # SHORT_BINSTRING
            stack.append(_string(take, take(1)[0]))
        elif op == 0x51:  # BINPERSID
            pid = pop()
            if isinstance(pid, tuple) and pid and pid[0] in ("storage", b"storage"):
                storages.append(pid)
            stack.append(_OPAQUE)
        elif op in (0x68, 0x6A):  # BINGET, LONG_BINGET
            index = take(1)[0] if op == 0x68 else struct.unpack("<I", take(4))[0]
            if index not in memo:
                raise ScanError("the pickle refers to a value it never stored")
            stack.append(memo[index])
        elif op in (0x71, 0x72):  # BINPUT, LONG_BINPUT
            index = take(1)[0] if op == 0x71 else struct.unpack("<I", take(4))[0]
            memo[index] = top()
        elif op == 0x8A:  # LONG1
            stack.append(int.from_bytes(take(take(1)[0]), "little", signed=True))
        else:
            raise NotWeightsOnly(op)


def _string(take, length: int) -> object:
    if length > _KEEP_TEXT:
        take(length, keep=False)  # checked against the end of the data, not copied
        return _OPAQUE
    return _text(take(length))


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise ScanError("the pickle holds text that is not UTF-8") from None
