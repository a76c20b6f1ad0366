"""Project files: versioned JSON, validated on every load, with one-sentence errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.errors import FileFormatError, NetStudioError, ProjectFormatError
from netstudio.graph import Document
from netstudio.serialization import load_project, save_project
from netstudio.serialization.project_file import project_to_json

from ..conftest import EXAMPLES


def one_sentence(err: Exception) -> bool:
    text = str(err)
    return "\n" not in text and text.endswith(".") and "Traceback" not in text


def mlp_changed(examples_dir, tmp_path, mutate) -> Path:
    """A copy of the mlp example whose JSON ``mutate`` has changed (in place)."""
    data = json.loads((examples_dir / "mlp.netstudio").read_text())
    mutate(data)
    path = tmp_path / "changed.netstudio"
    path.write_text(json.dumps(data))
    return path


def test_round_trip_is_exact(examples_dir, tmp_path):
    for path in examples_dir.glob("*.netstudio"):
        project = load_project(path, trusted=True)
        save_project(project, tmp_path / path.name)
        assert load_project(tmp_path / path.name).to_dict() == project.to_dict()
        assert (tmp_path / path.name).read_text() == path.read_text()


def test_files_start_untrusted(examples_dir):
    assert not load_project(examples_dir / "centered.netstudio").trusted
    assert load_project(examples_dir / "centered.netstudio", trusted=True).trusted


def test_saving_keeps_a_backup(tmp_path):
    doc = Document()
    path = tmp_path / "net.netstudio"
    save_project(doc.project, path)
    first = path.read_text()
    doc.set_setting("name", "second")
    save_project(doc.project, path)
    backups = [p for p in tmp_path.iterdir() if p != path]
    assert len(backups) == 1 and backups[0].read_text() == first


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.update(version=99), "was saved by a newer NetStudio (format version 99)"),
    (lambda d: d.update(format="something-else"), "cannot be opened: it is not a NetStudio project."),
    (lambda d: d["definitions"]["main"]["nodes"][0].update(id=5), "$.definitions.main.nodes[0].id: 5 is not of type 'string'"),
    (lambda d: d["definitions"]["main"]["nodes"][0].pop("type"), "$.definitions.main.nodes[0]: 'type' is a required property"),
    (lambda d: d["definitions"]["main"]["edges"][0].update(src=["n999", "out"]), "$.definitions.main.edges[0].src[0]: node 'n999' is not in definition 'main'"),
    (lambda d: d.update(root="nowhere"), "$.root: the root definition 'nowhere' is not among the definitions"),
    (lambda d: d["definitions"]["main"].update(kind="circular"), "$.definitions.main.kind: 'circular' is not one of"),
    (lambda d: d["definitions"]["main"]["nodes"][1].update(id=d["definitions"]["main"]["nodes"][0]["id"]), "is used twice"),
])
def test_invalid_projects_name_the_json_path(examples_dir, tmp_path, mutate, expected):
    with pytest.raises(ProjectFormatError) as err:
        load_project(mlp_changed(examples_dir, tmp_path, mutate))
    assert expected in str(err.value)
    assert one_sentence(err.value)


def test_a_file_that_is_not_a_project(tmp_path):
    for content, expected in [(b"\x89PNG\r\n\x1a\n\x00\x00", "not text"), (b"[1, 2, 3]", "not a NetStudio project"),
                              (b"{\"format\": ", "not valid JSON (line 1, column 12"), (b"", "not valid JSON")]:
        path = tmp_path / "x.netstudio"
        path.write_bytes(content)
        with pytest.raises(FileFormatError) as err:
            load_project(path)
        assert expected in str(err.value) and one_sentence(err.value)
    with pytest.raises(FileFormatError, match="Cannot read missing.netstudio"):
        load_project(tmp_path / "missing.netstudio")


def corruptions(text: str):
    data = text.encode()
    return st.one_of(
        st.integers(0, len(data) - 1).map(lambda n: data[:n]),                               # truncated
        st.tuples(st.integers(0, len(data) - 1), st.binary(min_size=1, max_size=8)).map(    # garbage inserted
            lambda t: data[:t[0]] + t[1] + data[t[0]:]),
        st.binary(max_size=200),                                                              # pure garbage
        st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),        # wrong types
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                     max_leaves=10).map(lambda v: json.dumps(v).encode()),
    )


MLP_TEXT = None


def _mlp_text():
    from pathlib import Path
    return (Path(__file__).resolve().parents[2] / "resources" / "examples" / "mlp.netstudio").read_text()


@st.composite
def structurally_damaged(draw):
    """Valid JSON with one field removed or given a wrong type."""
    data = json.loads(_mlp_text())
    paths = []

    def walk(obj, path):
        if isinstance(obj, dict):
            for k, v in obj.items():
                paths.append(path + [k])
                walk(v, path + [k])
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                paths.append(path + [i])
                walk(v, path + [i])
    walk(data, [])
    path = draw(st.sampled_from(paths))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(st.sampled_from([None, 3, "x", [], {}, 2.5, True]))
    return json.dumps(data).encode()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(content=st.one_of(corruptions(_mlp_text()), structurally_damaged()))
def test_corrupt_files_give_one_sentence_or_load(tmp_path, content):
    path = tmp_path / "corrupt.netstudio"
    path.write_bytes(content)
    try:
        project = load_project(path)
    except FileFormatError as err:
        assert one_sentence(err), str(err)
        return
    # It loaded: then it is a well-formed project, and checking it never raises.
    from netstudio.analysis import check
    check(project)


def test_project_json_is_stable_and_documented_fields_only(examples_dir):
    text = project_to_json(load_project(examples_dir / "tied.netstudio"))
    data = json.loads(text)
    assert data["format"] == "netstudio-project" and data["version"] == 1
    assert set(data) <= {"format", "version", "name", "description", "seed", "root", "definitions", "code",
                         "initializers", "edits", "weights"}


def test_saving_with_weights_into_a_missing_folder_is_one_sentence(tmp_path):
    import torch
    doc = Document()
    with pytest.raises(NetStudioError) as err:
        save_project(doc.project, tmp_path / "nope" / "x.netstudio", weights={"w": torch.ones(2)})
    assert str(err.value) == "Could not save 'x.netstudio': No such file or directory."


@pytest.mark.parametrize("count", [None, "x", 2.5, 1_000_000_000, True])
def test_a_bad_concat_count_is_a_diagnostic_not_a_crash(count):
    from netstudio.analysis import check
    from tests.engine.builders import chain_project
    doc, ids = chain_project([("Concat", {"inputs": 2}, "cat")], kind="graph")
    doc.project.root_definition.nodes[ids[0]].params["inputs"] = count
    result = check(doc.project)
    assert any("'inputs'" in d.message for d in result.errors)


# ---------------------------------------------------------------- the schema (issue #8, part 7)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["definitions"]["main"]["nodes"][2].update(init={"weight": 3}),
     "$.definitions.main.nodes[2].init.weight: 3 is not of type 'object'"),
    (lambda d: d["definitions"]["main"]["nodes"][2].update(init={"bias": ["zeros"]}),
     "$.definitions.main.nodes[2].init.bias: ['zeros'] is not of type 'object'"),
    (lambda d: d["definitions"]["main"]["nodes"][2].update(id="n3\n"), "$.definitions.main.nodes[2].id: 'n3\\n' does not match"),
    (lambda d: d["definitions"]["main"].update(class_name="Sequential\n"), "$.definitions.main.class_name: 'Sequential\\n' does not match"),
])
def test_schema_refuses_what_would_crash_later(examples_dir, tmp_path, mutate, expected):
    with pytest.raises(ProjectFormatError) as err:
        load_project(mlp_changed(examples_dir, tmp_path, mutate))
    assert expected in str(err.value) and one_sentence(err.value)


def test_the_name_length_limit_is_the_name_rule(examples_dir, tmp_path):
    from netstudio.graph.names import MAX_NAME_LENGTH
    from netstudio.serialization.schema import NODE
    assert NODE["properties"]["name"]["maxLength"] == MAX_NAME_LENGTH

    def named(length: int) -> Path:
        return mlp_changed(examples_dir, tmp_path,
                           lambda d: d["definitions"]["main"]["nodes"][2].update(name="a" * length))
    load_project(named(MAX_NAME_LENGTH))      # at the limit: loads
    with pytest.raises(ProjectFormatError, match=r"nodes\[2\]\.name: 'a+\.\.\.' is too long"):
        load_project(named(MAX_NAME_LENGTH + 1))


# ---------------------------------------------------------------- saving never raises anything else (part 3)


def _saved_twice(tmp_path):
    """A project saved twice, so that both the file and its backup exist: (doc, path, file bytes, backup bytes)."""
    from netstudio.files.atomic import backup_path
    doc = Document()
    path = tmp_path / "net.netstudio"
    save_project(doc.project, path)
    doc.set_setting("name", "second")
    save_project(doc.project, path)
    return doc, path, path.read_bytes(), backup_path(path).read_bytes()


def _unchanged(tmp_path, path, data, backup):
    from netstudio.files.atomic import backup_path
    assert path.read_bytes() == data and backup_path(path).read_bytes() == backup
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.netstudio", "net.netstudio.bak"]


@pytest.mark.parametrize("spoil, where", [
    (lambda p: setattr(p, "name", "net\ud800"), "$.name: the text contains \\ud800"),
    (lambda p: p.root_definition.nodes["n1"].params.update({"k\udc00": 1}), "['k\\udc00']: the key contains \\udc00"),
    (lambda p: setattr(p.root_definition.nodes["n1"], "position", (float("nan"), 0.0)), ".position[0]: nan is not a finite"),
    (lambda p: p.root_definition.nodes["n1"].params.update(huge=10 ** 30), "params.huge: the integer"),
    (lambda p: p.root_definition.nodes["n1"].params.update(thing=object()), "a value of type object"),
    (lambda p: setattr(p.root_definition.nodes["n1"], "position", ("left", 0.0)), "ValueError"),
])
def test_a_save_that_cannot_be_opened_again_is_refused_in_one_sentence(tmp_path, spoil, where):
    import torch
    doc, path, data, backup = _saved_twice(tmp_path)
    project = doc.project.copy()
    if "n1" not in project.root_definition.nodes:
        project.root_definition.nodes["n1"] = next(iter(project.root_definition.nodes.values()))
    spoil(project)
    for weights in (None, {"w": torch.ones(2)}):
        with pytest.raises(NetStudioError) as err:
            save_project(project, path, weights=weights)
        assert str(err.value).startswith("Could not save 'net.netstudio': ") and where in str(err.value)
        assert one_sentence(err.value)
        _unchanged(tmp_path, path, data, backup)


def test_a_tensor_that_safetensors_cannot_hold_names_the_users_file(tmp_path):
    import torch
    doc, path, data, backup = _saved_twice(tmp_path)
    with pytest.raises(NetStudioError) as err:
        save_project(doc.project, path, weights={"c": torch.zeros(2, dtype=torch.complex64)})
    assert str(err.value).startswith("Could not save 'net.netstudio': 'c'") and one_sentence(err.value)
    _unchanged(tmp_path, path, data, backup)


# ---------------------------------------------------------------- a full disk (part 5)


ENOSPC_MESSAGE = "Could not save 'net.netstudio': No space left on device."


def _no_space(*_args, **_kwargs):
    import errno
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _DiskFillsUp:
    """A file whose disk fills up after ``room`` bytes: ``write`` then raises ENOSPC, as ``os.write`` would."""

    def __init__(self, f, room: int):
        self._f, self._room = f, room

    def write(self, data):
        size = memoryview(data).nbytes
        if size > self._room:
            _no_space()
        self._room -= size
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@pytest.mark.parametrize("weights", [None, "small", "large"])
def test_a_full_disk_at_fsync_names_the_users_file(tmp_path, monkeypatch, weights):
    import torch
    doc, path, data, backup = _saved_twice(tmp_path)
    tensors = {None: None, "small": {"w": torch.ones(3)}, "large": {"w": torch.ones(300_000)}}[weights]
    monkeypatch.setattr(os, "fsync", _no_space)
    with pytest.raises(NetStudioError) as err:
        save_project(doc.project, path, weights=tensors)
    assert str(err.value) == ENOSPC_MESSAGE
    monkeypatch.undo()
    _unchanged(tmp_path, path, data, backup)


@pytest.mark.parametrize("room", [0, 100, 2_000, 600_000])
def test_a_disk_that_fills_up_while_the_weights_are_written_names_the_users_file(tmp_path, monkeypatch, room):
    import torch
    from netstudio.files import atomic
    doc, path, data, backup = _saved_twice(tmp_path)
    real = os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, *a, **kw: _DiskFillsUp(real(fd, *a, **kw), room))
    with pytest.raises(NetStudioError) as err:
        save_project(doc.project, path, weights={"w": torch.ones(300_000), "b": torch.ones(10)},
                     unplaced={"old.weight": torch.ones(1000)})
    assert str(err.value) == ENOSPC_MESSAGE
    monkeypatch.undo()
    _unchanged(tmp_path, path, data, backup)


def test_a_full_disk_behind_another_error_is_still_named(tmp_path, monkeypatch):
    """zipfile's cleanup after a full disk may raise something else; the cause is what the user needs."""
    import torch
    from netstudio.serialization import archive
    doc, path, data, backup = _saved_twice(tmp_path)

    def cleanup_fails(*_args):
        try:
            _no_space()
        except OSError:
            raise ValueError("I/O operation on closed file")
    monkeypatch.setattr(archive, "write_safetensors", cleanup_fails)
    with pytest.raises(NetStudioError) as err:
        save_project(doc.project, path, weights={"w": torch.ones(2)})
    assert str(err.value) == ENOSPC_MESSAGE
    _unchanged(tmp_path, path, data, backup)


# ---------------------------------------------------------------- streaming, and no litter (part 5)


def test_weights_are_streamed_into_the_archive_with_nothing_beside_the_project(tmp_path, monkeypatch):
    import zipfile

    import torch
    from netstudio.serialization import archive
    doc = Document()
    path = tmp_path / "net.netstudio"
    seen = []
    real = archive.write_safetensors

    def spy(obj, f):
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        real(obj, f)
    monkeypatch.setattr(archive, "write_safetensors", spy)
    save_project(doc.project, path, weights={"w": torch.arange(6.0)})
    assert len(seen) == 1 and len(seen[0]) == 1
    assert seen[0][0].startswith(".net.netstudio.netstudio-") and seen[0][0].endswith(".tmp")
    assert [p.name for p in tmp_path.iterdir()] == ["net.netstudio"]
    with zipfile.ZipFile(path) as z:
        assert [i.filename for i in z.infolist()] == ["meta.json", "project.json", "weights.safetensors"]
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}


KILLED_SAVE = """
import os, signal, sys, torch
from netstudio.graph import Document
from netstudio.serialization import archive, save_project
real = archive.write_safetensors
def write_then_die(obj, f):
    real(obj, f)
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
archive.write_safetensors = write_then_die
save_project(Document().project, sys.argv[1], weights={"w": torch.ones(250_000)})
"""


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_a_killed_save_leaves_one_temporary_file_which_the_next_save_removes(tmp_path):
    import subprocess
    import sys

    import torch
    doc, path, data, backup = _saved_twice(tmp_path)
    proc = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 3 and all((tmp_path / name).is_file() for name in left), left   # no folder
    assert path.read_bytes() == data
    save_project(doc.project, path, weights={"w": torch.ones(2)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.netstudio", "net.netstudio.bak"]


def test_loading_weights_leaves_no_file_anywhere(tmp_path, monkeypatch):
    import tempfile

    import torch
    from netstudio.serialization import load_project_and_weights
    doc = Document()
    path = tmp_path / "net.netstudio"
    save_project(doc.project, path, weights={"w": torch.ones(3)})
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    _, weights = load_project_and_weights(path)
    assert torch.equal(weights["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.netstudio", "system-temp"]
    assert list(system_temp.iterdir()) == []


# ---------------------------------------------------------------- unplaced tensors (part 6)


def test_unplaced_tensors_survive_a_save(tmp_path):
    import dataclasses
    import zipfile

    import torch
    from netstudio.serialization import ProjectFile, load_project_file
    doc = Document()
    path = tmp_path / "net.netstudio"
    shared = torch.arange(4.0)
    save_project(doc.project, path, weights={"a": shared, "b": shared},
                 unplaced={"ghost.weight": torch.ones(2, 2), "x.bias": torch.zeros(3, dtype=torch.float16)})
    loaded = load_project_file(path)
    assert isinstance(loaded, ProjectFile) and not loaded.project.trusted
    assert list(loaded.weights) == ["a", "b"] and loaded.weights["a"] is loaded.weights["b"]
    assert list(loaded.unplaced) == ["ghost.weight", "x.bias"]
    assert torch.equal(loaded.unplaced["ghost.weight"], torch.ones(2, 2))
    assert loaded.unplaced["x.bias"].dtype == torch.float16
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.weights = None
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["meta.json", "project.json", "weights.safetensors", "unplaced.safetensors"]
    only_project = load_project_file(path, trusted=True, weights=False)
    assert only_project.weights is None and only_project.unplaced == {} and only_project.project.trusted


def test_unplaced_tensors_without_weights_still_make_an_archive(tmp_path):
    import torch
    from netstudio.serialization import load_project_file
    doc = Document()
    path = tmp_path / "net.netstudio"
    save_project(doc.project, path, unplaced={"ghost": torch.ones(2)})
    assert path.read_bytes()[:4] == b"PK\x03\x04"
    loaded = load_project_file(path)
    assert loaded.weights is None and torch.equal(loaded.unplaced["ghost"], torch.ones(2))
    save_project(doc.project, path, unplaced={})
    assert path.read_bytes()[:1] == b"{"
    assert load_project_file(path).unplaced == {}


def test_the_memory_budget_covers_weights_and_unplaced_together(tmp_path):
    import torch
    from netstudio.limits import set_memory_budget
    from netstudio.serialization import load_project_file
    path = tmp_path / "net.netstudio"
    save_project(Document().project, path, weights={"w": torch.ones(1000)}, unplaced={"u": torch.ones(1000)})
    set_memory_budget(6000)
    try:
        with pytest.raises(ProjectFormatError, match="unplaced.safetensors .* more than the memory budget") as err:
            load_project_file(path)
        assert one_sentence(err.value)
        assert load_project_file(path, weights=False).weights is None
    finally:
        set_memory_budget(None)


@pytest.mark.skipif(os.name == "nt", reason="newlines in file names")
def test_odd_file_names_keep_messages_on_one_line(tmp_path):
    path = tmp_path / "two\nlines.netstudio"
    path.write_bytes(b"[1]")
    with pytest.raises(FileFormatError) as err:
        load_project(path)
    assert str(err.value) == "'two\\nlines.netstudio' cannot be opened: it is not a NetStudio project."
    with pytest.raises(FileFormatError) as err:
        load_project(tmp_path / "gone\n.netstudio")
    assert one_sentence(err.value)
    with pytest.raises(NetStudioError) as err:
        save_project(Document().project, tmp_path / "no folder" / "x\ny.netstudio")
    assert str(err.value) == "Could not save 'x\\ny.netstudio': No such file or directory."


def test_a_file_recording_too_many_initializers_is_refused_before_validation(tmp_path):
    from netstudio.init.bounds import MAX_RECORDED
    data = json.loads((EXAMPLES / "mlp.netstudio").read_text(encoding="utf-8"))
    data["initializers"] = [{"scope": {"kind": "network"}, "scheme": "zeros"}] * (MAX_RECORDED + 1)
    path = tmp_path / "many.netstudio"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProjectFormatError) as err:
        load_project(path)
    assert str(err.value) == (f"many.netstudio cannot be opened: the project records {MAX_RECORDED + 1:,} "
                              f"initializers, but at most {MAX_RECORDED:,} are allowed.")
