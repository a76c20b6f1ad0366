"""Reading and writing ``.netstudio`` project files.

A project file is either UTF-8 JSON (the graph alone, as the bundled examples
are: their weights follow from the seed), or, when it carries tensors, a zip
archive (stored, not compressed) holding ``project.json``, ``meta.json``
(format version, torch version, seed), ``weights.safetensors`` (tied tensors
stored once) and ``unplaced.safetensors`` (stored tensors that fit no block
of the graph, kept until the user discards them).  See ``docs/file-format.md``.

Every load validates the project and names the JSON path of each problem; a
file that is not a project, comes from a newer version, or is hostile (a
device, a FIFO, a bomb, absurd numbers or nesting: see ``files/safe_read``,
``json_limits`` and ``archive``) gets a one-sentence error within seconds,
never an exhausted memory.  Saving is atomic (temporary file, fsync, rename),
keeps the previous version as a backup, streams the tensors into the archive,
and refuses, in one sentence, a project it could not open again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..errors import FileFormatError, NetStudioError, ProjectFormatError
from ..files.atomic import atomic_write_bytes, atomic_writer
from ..files.safe_read import TooLarge, display_name, open_regular_file, read_at_most, too_large_message
from ..graph.project import FORMAT, VERSION, Project
from ..init.bounds import check_recorded_lengths
from ..limits import format_bytes, memory_budget
from .archive import UNPLACED_MEMBER, WEIGHTS_MEMBER, open_archive, write_archive
from .json_limits import MAX_JSON_BYTES, parse_json, value_problem
from .validate import MAX_PROBLEMS, NotAProject, position_problems, validate_project

SUFFIX = ".netstudio"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class ProjectFile:
    """What a project file holds: the project, its weights (None when it has none, or they were not
    asked for) and its unplaced tensors (stored tensors that fit no block; empty when none)."""

    project: Project
    weights: dict[str, torch.Tensor] | None = None
    unplaced: dict[str, torch.Tensor] = field(default_factory=dict)


def project_from_dict(data: Any, source: str = "The project", trusted: bool = False) -> Project:
    if isinstance(data, dict):   # before validation, which would walk every entry
        lists = [data.get(key) if isinstance(data.get(key), list) else [] for key in ("initializers", "edits")]
        try:
            check_recorded_lengths(*lists)
        except NetStudioError as err:
            raise ProjectFormatError(f"{source} cannot be opened: {str(err)[:1].lower()}{str(err)[1:]}") from None
    try:
        problems = validate_project(data)
    except NotAProject as err:
        raise ProjectFormatError(f"{source} cannot be opened: {err}.") from None
    if problems:
        path, message = problems[0]
        if len(problems) >= MAX_PROBLEMS:
            more = " (and many more problems)"
        else:
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ProjectFormatError(f"{source} is not a valid project: {path}: {_one_line(message)}{more}.", problems)
    return Project.from_dict(data, trusted=trusted)


def load_project_file(path: str | os.PathLike, trusted: bool = False, weights: bool = True) -> ProjectFile:
    """Read and validate a project file; with ``weights``, its stored tensors too.

    Code blocks stay disabled unless ``trusted``.  The project is validated
    before any tensor is read, so a bad project costs no inflating.
    """
    p, name = Path(path), display_name(path)
    try:
        with open_regular_file(p) as f:
            if f.read(4) == ZIP_MAGIC:
                f.seek(0)
                return _read_archive(f, name, trusted, weights)
            f.seek(0)
            raw = _read_json_bytes(f, name)
    except OSError as err:
        raise FileFormatError(f"Cannot read {name}: {_reason(err)}.") from None
    return ProjectFile(project_from_dict(parse_json(name, raw), name, trusted=trusted))


def load_project(path: str | os.PathLike, trusted: bool = False) -> Project:
    """Read and validate a project; its code blocks stay disabled unless ``trusted``."""
    return load_project_file(path, trusted, weights=False).project


def load_project_and_weights(path: str | os.PathLike, trusted: bool = False,
                             weights: bool = True) -> tuple[Project, dict[str, torch.Tensor] | None]:
    """The project and, if the file carries them, its weights (a state_dict; tied tensors shared again)."""
    loaded = load_project_file(path, trusted, weights=weights)
    return loaded.project, loaded.weights


def _read_json_bytes(f, name: str) -> bytes:
    size = os.fstat(f.fileno()).st_size
    if size > MAX_JSON_BYTES:
        raise FileFormatError(too_large_message(name, "a project file", size, MAX_JSON_BYTES))
    try:
        return read_at_most(f, MAX_JSON_BYTES)
    except TooLarge:   # it grew while we read it
        raise FileFormatError(f"{name} is more than the {format_bytes(MAX_JSON_BYTES)} "
                              "a project file may have.") from None


def _read_archive(f, name: str, trusted: bool, with_tensors: bool) -> ProjectFile:
    with open_archive(f, name) as archive:
        project = project_from_dict(parse_json(name, archive.project_json(MAX_JSON_BYTES)), name, trusted=trusted)
        if not with_tensors:
            return ProjectFile(project)
        budget = memory_budget()
        weights = archive.tensors(WEIGHTS_MEMBER, budget)
        used = sum(t.numel() * t.element_size() for t in {id(t): t for t in (weights or {}).values()}.values())
        unplaced = archive.tensors(UNPLACED_MEMBER, max(budget - used, 0)) or {}
    return ProjectFile(project, weights, unplaced)


def project_to_json(project: Project) -> str:
    return json.dumps(project.to_dict(), indent=1, ensure_ascii=False) + "\n"


def save_project(project: Project, path: str | os.PathLike, backup: bool = True,
                 weights: dict[str, torch.Tensor] | None = None,
                 unplaced: dict[str, torch.Tensor] | None = None) -> None:
    """Write atomically: plain JSON, or an archive when there are ``weights`` or ``unplaced`` tensors.

    Raises only a one-sentence :class:`NetStudioError` ("Could not save
    'net.netstudio': No space left on device."); the old file and its backup
    are then untouched and no temporary file remains.
    """
    name = Path(path).name
    name = name if name.isprintable() else ascii(name)[1:-1]
    try:
        data = project.to_dict()
        problem = value_problem(data) or next(iter(position_problems(data)), None)
        if problem is not None:
            raise NetStudioError(f"Could not save '{name}': {problem[0]}: {_one_line(problem[1])}.")
        encoded = (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
        if weights is None and not unplaced:
            atomic_write_bytes(path, encoded, backup=backup)
            return
        meta = {"format": FORMAT, "version": VERSION, "netstudio": __version__, "torch": torch.__version__,
                "seed": project.seed, "saved": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        with atomic_writer(path, backup=backup) as f:
            write_archive(f, meta, encoded, weights, unplaced)
    except NetStudioError as err:
        if str(err).startswith("Could not save '") and "\n" not in str(err):
            raise
        raise NetStudioError(f"Could not save '{name}': {_one_line(str(err))}.") from None
    except Exception as err:   # defensive: whatever went wrong, one sentence
        cause = _os_error_in(err)
        if cause is not None:
            raise NetStudioError(f"Could not save '{name}': {_reason(cause)}.") from None
        raise NetStudioError(f"Could not save '{name}': {type(err).__name__}: {_one_line(str(err))}.") from None


def _os_error_in(err: BaseException) -> OSError | None:
    """The operating system error behind ``err``: zipfile's cleanup may raise anew after a full disk."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def _reason(err: OSError) -> str:
    return " ".join((err.strerror or str(err) or type(err).__name__).split()).rstrip(".")


def _one_line(message: str) -> str:
    text = " ".join(message[:2000].split()).rstrip(".")
    return text if len(text) <= 200 else text[:197] + "..."
