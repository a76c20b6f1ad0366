"""Reading and writing ``.netstudio`` project files.

A project file is either UTF-8 JSON (the graph alone, as the bundled examples
are: their weights follow from the seed), or, when it carries weights, a zip
archive (stored, not compressed) holding ``project.json``, ``meta.json``
(format version, torch version, seed) and ``weights.safetensors`` (tied
tensors stored once).  See ``docs/file-format.md``.  Every load validates the
project and names the JSON path of each problem; a file that is not a project,
or comes from a newer version, gets a one-sentence error.  Saving is atomic
(temporary file, fsync, rename) and keeps the previous version as a backup.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from ..errors import FileFormatError, ProjectFormatError
from .. import __version__
from ..files.atomic import atomic_write_bytes, atomic_writer
from ..files.tensor_io import load_tensors, save_tensors
from ..graph.project import FORMAT, VERSION, Project
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



def _read(p: Path, with_weights: bool) -> tuple[dict, dict[str, torch.Tensor] | None]:
    try:
        with open(p, "rb") as f:
            magic = f.read(4)
    except OSError as err:
        raise FileFormatError(f"Cannot read {p.name}: {err.strerror or err}.") from None
    if magic == b"PK\x03\x04":
        return _read_archive(p, with_weights)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise FileFormatError(f"{p.name} is {size // (1024 * 1024)} MB, far too large to be a project file.")
        raw = p.read_bytes()
    except OSError as err:
        raise FileFormatError(f"Cannot read {p.name}: {err.strerror or err}.") from None
    return _parse_json(p.name, raw), None


def _read_archive(p: Path, with_weights: bool) -> tuple[dict, dict[str, torch.Tensor] | None]:
    try:
        with zipfile.ZipFile(p) as archive:
            names = set(archive.namelist())
            if "project.json" not in names:
                raise ProjectFormatError(f"{p.name} cannot be opened: the archive holds no project.json.")
            info = archive.getinfo("project.json")
            if info.file_size > MAX_BYTES:
                raise ProjectFormatError(f"{p.name} cannot be opened: its project.json is far too large.")
            data = _parse_json(p.name, archive.read("project.json"))
            weights = None
            if with_weights and "weights.safetensors" in names:
                weights = _read_weights(p, archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, zlib.error, RuntimeError,
            NotImplementedError) as err:
        raise ProjectFormatError(f"{p.name} cannot be opened: the archive is damaged ({_one_line(str(err))}).") \
            from None
    except OSError as err:
        raise FileFormatError(f"Cannot read {p.name}: {err.strerror or err}.") from None
    return data, weights


def _read_weights(p: Path, archive: zipfile.ZipFile) -> dict[str, torch.Tensor]:
    with tempfile.TemporaryDirectory() as tmp:
        extracted = Path(tmp) / "weights.safetensors"
        with archive.open("weights.safetensors") as src, open(extracted, "wb") as dst:
            while chunk := src.read(1 << 24):
                dst.write(chunk)
        try:
            loaded = load_tensors(extracted)
        except FileFormatError:
            raise ProjectFormatError(f"{p.name} cannot be opened: its weights are damaged.") from None
        if not isinstance(loaded, dict):
            raise ProjectFormatError(f"{p.name} cannot be opened: its weights are not a state_dict.")
        clones: dict[int, torch.Tensor] = {}
        return {k: clones.setdefault(id(v), v.clone()) for k, v in loaded.items()}


def _parse_json(name: str, raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectFormatError(f"{name} cannot be opened: it is not a NetStudio project (not text).") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ProjectFormatError(f"{name} cannot be opened: it is not valid JSON "
                                 f"(line {err.lineno}, column {err.colno}: {err.msg}).") from None
    except RecursionError:
        raise ProjectFormatError(f"{name} cannot be opened: it is nested too deeply to be a project.") from None


def load_project(path: str | os.PathLike, trusted: bool = False) -> Project:
    """Read and validate a project; its code blocks stay disabled unless ``trusted``."""
    return load_project_and_weights(path, trusted, weights=False)[0]


def load_project_and_weights(path: str | os.PathLike, trusted: bool = False,
                             weights: bool = True) -> tuple[Project, dict[str, torch.Tensor] | None]:
    """The project and, if the file carries them, its weights (a state_dict; tied tensors shared again)."""
    p = Path(path)
    data, tensors = _read(p, with_weights=weights)
    return project_from_dict(data, p.name, trusted=trusted), tensors


def project_to_json(project: Project) -> str:
    return json.dumps(project.to_dict(), indent=1, ensure_ascii=False) + "\n"


def save_project(project: Project, path: str | os.PathLike, backup: bool = True,
                 weights: dict[str, torch.Tensor] | None = None) -> None:
    """Write atomically: plain JSON, or an archive with the weights when ``weights`` is given."""
    if weights is None:
        atomic_write_bytes(path, project_to_json(project).encode("utf-8"), backup=backup)
        return
    meta = {"format": FORMAT, "version": VERSION, "netstudio": __version__, "torch": torch.__version__,
            "seed": project.seed, "saved": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        with tempfile.TemporaryDirectory(dir=Path(path).resolve().parent) as tmp:
            tensors = Path(tmp) / "weights.safetensors"
            save_tensors(dict(weights), tensors)
            with atomic_writer(path, backup=backup) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
                archive.writestr("meta.json", json.dumps(meta, indent=1))
                archive.writestr("project.json", project_to_json(project))
                archive.write(tensors, "weights.safetensors")
    except OSError as err:
        raise FileFormatError(f"Cannot save {Path(path).name}: {err.strerror or err}.") from None


def _one_line(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= 160 else text[:157] + "..."
