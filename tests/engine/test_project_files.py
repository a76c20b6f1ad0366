"""Project files: versioned JSON, validated on every load, with one-sentence errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.errors import FileFormatError, ProjectFormatError
from netstudio.graph import Document
from netstudio.serialization import load_project, save_project
from netstudio.serialization.project_file import project_to_json


def one_sentence(err: Exception) -> bool:
    text = str(err)
    return "\n" not in text and text.endswith(".") and "Traceback" not in text


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
    data = json.loads((examples_dir / "mlp.netstudio").read_text())
    mutate(data)
    path = tmp_path / "bad.netstudio"
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectFormatError) as err:
        load_project(path)
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
    with pytest.raises(FileFormatError) as err:
        save_project(doc.project, tmp_path / "nope" / "x.netstudio", weights={"w": torch.ones(2)})
    assert one_sentence(err.value)


@pytest.mark.parametrize("count", [None, "x", 2.5, 1_000_000_000, True])
def test_a_bad_concat_count_is_a_diagnostic_not_a_crash(count):
    from netstudio.analysis import check
    from tests.engine.builders import chain_project
    doc, ids = chain_project([("Concat", {"inputs": 2}, "cat")], kind="graph")
    doc.project.root_definition.nodes[ids[0]].params["inputs"] = count
    result = check(doc.project)
    assert any("'inputs'" in d.message for d in result.errors)
