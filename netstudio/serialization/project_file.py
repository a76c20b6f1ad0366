"""Reading and writing ``.netstudio`` project files.

A project file is UTF-8 JSON (see ``docs/file-format.md``).  Every load
validates it and names the JSON path of each problem; a file that is not a
project, or comes from a newer version, gets a one-sentence error.  Saving is
atomic (temporary file, fsync, rename) and keeps the previous version as a
backup.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import FileFormatError, ProjectFormatError
from ..files.atomic import atomic_write_bytes
from ..graph.project import Project
from .validate import NotAProject, validate_project

SUFFIX = ".netstudio"
# A project's JSON is small; a larger file is not a project (and would hang the parser).
MAX_BYTES = 256 * 1024 * 1024


def project_from_dict(data: Any, source: str = "The project", trusted: bool = False) -> Project:
    try:
        problems = validate_project(data)
    except NotAProject as err:
        raise ProjectFormatError(f"{source} cannot be opened: {err}.") from None
    if problems:
        path, message = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ProjectFormatError(f"{source} is not a valid project: {path}: {_one_line(message)}{more}.", problems)
    return Project.from_dict(data, trusted=trusted)


def read_project_dict(path: str | os.PathLike) -> dict:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise FileFormatError(f"{p.name} is {size // (1024 * 1024)} MB, far too large to be a project file.")
        raw = p.read_bytes()
    except OSError as err:
        raise FileFormatError(f"Cannot read {p.name}: {err.strerror or err}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectFormatError(f"{p.name} cannot be opened: it is not a NetStudio project (not text).") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ProjectFormatError(f"{p.name} cannot be opened: it is not valid JSON "
                                 f"(line {err.lineno}, column {err.colno}: {err.msg}).") from None
    except RecursionError:
        raise ProjectFormatError(f"{p.name} cannot be opened: it is nested too deeply to be a project.") from None


def load_project(path: str | os.PathLike, trusted: bool = False) -> Project:
    """Read and validate a project; its code blocks stay disabled unless ``trusted``."""
    data = read_project_dict(path)
    return project_from_dict(data, Path(path).name, trusted=trusted)


def project_to_json(project: Project) -> str:
    return json.dumps(project.to_dict(), indent=1, ensure_ascii=False) + "\n"


def save_project(project: Project, path: str | os.PathLike, backup: bool = True) -> None:
    atomic_write_bytes(path, project_to_json(project).encode("utf-8"), backup=backup)


def _one_line(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= 160 else text[:157] + "..."
