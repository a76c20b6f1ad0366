"""Diagnostics: what is wrong with a graph, attached to the node that causes it."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One problem.

    ``node_id`` is None for a problem of the whole definition (it has no
    Output, say).  ``path`` holds the ids of the container nodes leading from
    the root to the instance where it was found, for problems that depend on
    the input shapes; it is empty for problems of the definition itself.
    ``where`` is the dotted module path people know (``net.2``), or the
    definition name.
    """

    severity: str
    message: str
    definition: str
    node_id: str | None = None
    path: tuple[str, ...] = ()
    where: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def line(self) -> str:
        """``node-name: message``, as the command line prints it."""
        return f"{self.where}: {self.message}" if self.where else self.message
