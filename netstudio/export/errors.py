"""The export's error and the few phrases its messages share."""

from __future__ import annotations

from ..errors import NetStudioError


class ExportError(NetStudioError):
    """The network cannot be written as plain PyTorch; the message says which part and why."""


def where(path: str) -> str:
    """A module path for a message: ``the module 'block 0.fc'``, or ``the network`` for the root."""
    return f"the module {shown(path)}" if path else "the network"


def mismatch(path: str, expected: str) -> ExportError:
    return ExportError(f"The network does not match the project: {where(path)} should be {expected}; "
                       "compile the project again.")


def shown(text: object, limit: int = 60) -> str:
    """Text from a project or file, quoted for a one-line message: shortened, and with line breaks,
    control and invisible characters escaped, so it can neither end the line nor hide what it is."""
    text = str(text)
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return repr(text) if text.isprintable() else ascii(text)


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0].rstrip(".") if text else type(err).__name__


def os_reason(err: OSError) -> str:
    return (err.strerror or str(err)).rstrip(".")
