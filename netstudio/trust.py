"""Which code the user has trusted: by its content, never by the file's name or place.

A project's code blocks run only once the user trusts them.  Trusting a file's
*path* would carry over to whatever is written there later, so what is
remembered is a fingerprint of the code itself (every class name and source).
Opening, reverting, or reopening after the file changed on disk asks again
unless the code is exactly what was trusted before.  Code the user writes or
edits in the app, in a trusted project, is theirs: saving records it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import NetStudioError
from .files.atomic import atomic_write_bytes
from .graph.project import Project

MAX_ENTRIES = 10_000   # oldest forgotten first; the file stays small


def code_fingerprint(project: Project) -> str:
    """A SHA-256 over the project's code table (class names and sources, in name order)."""
    text = json.dumps(sorted(project.code.items()), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class TrustStore:
    """Fingerprints of trusted code, kept in a small JSON file (unreadable means: nothing trusted)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def _load(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        entries = data.get("trusted") if isinstance(data, dict) else None
        return [e for e in entries if isinstance(e, str)] if isinstance(entries, list) else []

    def trusts(self, project: Project) -> bool:
        """Whether the user trusted exactly this code before (a project without code needs no trust)."""
        return not project.code or code_fingerprint(project) in self._load()

    def remember(self, project: Project) -> None:
        """The user trusts this code: remember its fingerprint (a failure to write is not fatal)."""
        if not project.code:
            return
        fingerprint = code_fingerprint(project)
        entries = [e for e in self._load() if e != fingerprint][-(MAX_ENTRIES - 1):] + [fingerprint]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, json.dumps({"trusted": entries}).encode("ascii"))
        except (OSError, NetStudioError):   # trusting again next time is the only cost
            pass
