"""Why a part of a model could not become blocks: one sentence, shown in the import report."""

from __future__ import annotations

from ..errors import NetStudioError


class Unsupported(Exception):
    """A module cannot become a graph of blocks; the importer falls back to a code block."""


class ImportFailed(NetStudioError):
    """Nothing could be imported (a missing file, a name that is not a module...): one sentence."""
