"""How many recorded initializers and edits a project may hold.

Both lists come from the file and each entry costs a parse, a lookup and maybe
a fill at every compile; a file is refused long before that cost matters.
The loader calls :func:`check_recorded_lengths` on the raw lists; the replay
calls it too, so a project built some other way is held to the same bound.
"""

from __future__ import annotations

from typing import Any

from netstudio.errors import NetStudioError

MAX_RECORDED = 100_000


def check_recorded_lengths(initializers: Any, edits: Any) -> None:
    """Raise a one-sentence ``NetStudioError`` unless both are lists of at most ``MAX_RECORDED`` entries."""
    for what, entries in (("initializers", initializers), ("edits", edits)):
        if not isinstance(entries, (list, tuple)):
            raise NetStudioError(f"The project's {what} must be a list.")
        if len(entries) > MAX_RECORDED:
            raise NetStudioError(
                f"The project records {len(entries):,} {what}, but at most {MAX_RECORDED:,} are allowed."
            )
