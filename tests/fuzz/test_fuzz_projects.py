"""Fuzzing project files (issue #8): whatever the bytes, a load ends in a project or one sentence.

Inputs are mutations of the bundled examples (any value replaced by arbitrary
JSON, keys deleted, deep nesting, huge and non-finite numbers, odd strings
and lone surrogates, byte-level damage) and archives built around them
(members present or missing, stored/deflate/bzip2/LZMA, lying sizes, damaged
or non-safetensors tensors, truncation).  For each one:

* ``load_project_file`` returns, or raises a ``NetStudioError`` whose message is one line;
* on a refused file, ``netstudio check`` exits 2 with one line on stderr and no traceback;
* on a loaded one, ``check()`` does not raise and ``netstudio check`` exits 0 or 1;
* each input takes well under :data:`SECONDS`, and the process's peak memory
  grows by less than :data:`MEMORY_GROWTH`.

Outcomes are counted (``-s`` prints them).  With the default 150 inputs per
test the file runs in about 15 seconds on a slow machine; ``FUZZ_EXAMPLES=2500``
fuzzes longer.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import resource
import sys
import time
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.analysis import check
from netstudio.cli import main
from netstudio.errors import NetStudioError
from netstudio.files.tensor_io import write_safetensors
from netstudio.serialization import load_project_file
from tests.engine.test_hostile_projects_builders import raw_zip

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.netstudio"))
EXAMPLE_DATA = {p.name: json.loads(p.read_text()) for p in EXAMPLES}
SECONDS = 5.0
MEMORY_GROWTH = 512 << 20
QUIET = pytest.mark.filterwarnings("ignore:Generating overly large repr")   # hypothesis, on failing inputs
FUZZ = settings(max_examples=int(os.environ.get('FUZZ_EXAMPLES', 150)), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
FIGURES: Counter = Counter()
CHECK_FAILURES: list[str] = []

# ------------------------------------------------------------------ JSON values and mutations

ODD_STRINGS = ["", " ", "\ud800", "a\udfff", "\udc00\ud800", "\x00", "a\nb", "é", "ﬁ", "🙂", "x" * 300,
               "__class__", "self", "0", "-1", "1e400", "NaN", "$.root", "../../etc/passwd", "main", "n1", "in", "out"]
HUGE_NUMBERS = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", str(2 ** 63), str(-2 ** 63 - 1), str(2 ** 63 - 1),
                "7" * 5000, str(10 ** 400), "1e-400", "0.1e309", "-0", "1" + "0" * 1200 + ".5", "4e9", "1e18"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-3, 10 ** 6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.sampled_from(ODD_STRINGS))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(ODD_STRINGS)), inner,
                                             max_size=4), max_leaves=12)
# Values a project may hold (no lone surrogates, integers within 64 bits): they load, and reach the checker.
SANE_STRINGS = [s for s in ODD_STRINGS if not any("\ud800" <= c <= "\udfff" for c in s)]
sane_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 63, 2 ** 63 - 1), st.integers(-3, 10 ** 6),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                         st.sampled_from(SANE_STRINGS + ["Linear", "ReLU", "Block", "Code", "Input", "Output", "Concat"]))
sane_values = st.recursive(sane_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(SANE_STRINGS + ["in", "out", "definition", "inputs"]), inner,
                                             max_size=4), max_leaves=12)


def _paths(data, prefix=()):
    """Every (path) to a value inside ``data``, containers included."""
    out = []
    stack = [(data, prefix)]
    while stack:
        value, path = stack.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            out.append(path + (key,))
            stack.append((item, path + (key,)))
    return out


def _at(data, path):
    for key in path:
        data = data[key]
    return data


RAW = "\u0000RAW:"   # a placeholder string; the JSON text that replaces it follows the prefix


FREE = {"params", "init", "initializers", "edits", "code", "name", "type", "tied_to", "description", "seed"}
INSIDE = {"params": 1, "init": 2, "initializers": 2, "edits": 2}   # steps below which the schema checks nothing


def _inside_free_data(path) -> bool:
    return any(key in INSIDE and len(path) - i > INSIDE[key] for i, key in enumerate(path) if isinstance(key, str))


@st.composite
def mutated_json(draw, free_only: bool = False) -> bytes:
    """One of the examples, with one to three mutations, as the bytes of a file.

    Mutations land mostly where the schema lets anything through (hyperparameters, initializers, names),
    so that many inputs load and reach the checker; the rest anywhere, structure included."""
    data = json.loads(json.dumps(EXAMPLE_DATA[draw(st.sampled_from(sorted(EXAMPLE_DATA)))]))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        free = [p for p in paths if (_inside_free_data(p) if free_only else FREE & {k for k in p if isinstance(k, str)})]
        pool = free if (free and (free_only or draw(st.integers(0, 3)) > 0)) else paths
        if not pool:
            break
        path = draw(st.sampled_from(sorted(pool, key=lambda p: (-len(p), repr(p)))))
        parent, key = _at(data, path[:-1]), path[-1]
        ops = ["replace", "replace", "delete", "duplicate"] if free_only else \
            ["replace", "number", "string", "deep", "delete", "duplicate", "replace"]
        op = draw(st.sampled_from(ops))
        if op == "delete" and isinstance(parent, dict):
            del parent[key]
        elif op == "delete":
            parent.pop(key)
        elif op == "deep":
            depth = draw(st.sampled_from([10, 63, 64, 65, 200, 2000]))
            opener, closer = draw(st.sampled_from([("[", "]"), ('{"k":', "}")]))
            parent[key] = RAW + opener * depth + "0" + closer * depth
        elif op == "number":
            parent[key] = RAW + draw(st.sampled_from(HUGE_NUMBERS))
        elif op == "string":
            parent[key] = draw(st.sampled_from(ODD_STRINGS))
        elif op == "duplicate" and isinstance(parent, list) and parent:
            parent.append(json.loads(json.dumps(parent[key])))
        else:
            parent[key] = draw(sane_values if free_only else json_values)
    text = json.dumps(data, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1])))
    # Raw JSON (numbers beyond Python's float, deep nesting) goes in as text; json.dumps escapes the NUL.
    text = re.sub(r'"\\u0000RAW:((?:[^"\\]|\\.)*)"', lambda m: json.loads('"' + m.group(1) + '"'), text)
    data = text.encode("utf-8", "surrogatepass")
    damage = "none" if free_only else draw(st.sampled_from(["none"] * 6 + ["truncate", "insert", "flip"]))
    if damage == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif damage == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    elif damage == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    return data


# ------------------------------------------------------------------ archives


def _safetensors(tensors) -> bytes:
    buffer = io.BytesIO()
    write_safetensors(tensors, buffer)
    return buffer.getvalue()


def _torch_zip(tensors) -> bytes:
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    return buffer.getvalue()


_SHARED = torch.arange(6.0).reshape(2, 3)
TENSOR_FILES = [
    _safetensors({"0.weight": torch.randn(256, 20), "0.bias": torch.zeros(256)}),
    _safetensors({"a": _SHARED, "b": _SHARED, "c": torch.ones(2, dtype=torch.float16)}),
    _safetensors({}),
    _safetensors([torch.ones(2)]),                 # a list, not a state_dict
    _torch_zip({"w": torch.ones(2)}),              # a torch zip, not safetensors
    b"", b"\x00" * 16, b"garbage that is not a tensor file",
]
METHODS = [zipfile.ZIP_STORED] * 3 + [zipfile.ZIP_DEFLATED] * 2 + [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
MEMBER_NAMES = ["project.json", "meta.json", "weights.safetensors", "unplaced.safetensors"]


@st.composite
def archives(draw) -> bytes:
    """A zip around an example: members kept, dropped, damaged, compressed or lying about their sizes."""
    members = {}
    if draw(st.integers(0, 9)) > 0:
        members["project.json"] = draw(st.one_of(st.sampled_from([p.read_bytes() for p in EXAMPLES]), mutated_json()))
    if draw(st.booleans()):
        members["meta.json"] = draw(st.sampled_from([b"{}", b'{"format": "netstudio-project"}', b"\xff"]))
    for name in ("weights.safetensors", "unplaced.safetensors"):
        if draw(st.booleans()):
            data = draw(st.sampled_from(TENSOR_FILES))
            if data and draw(st.integers(0, 4)) == 0:
                data = data[:draw(st.integers(0, len(data) - 1))]
            members[name] = data
    if draw(st.integers(0, 5)) == 0:
        members[draw(st.sampled_from(["../evil", "project.json/", "x" * 300, "é.json"]))] = b"{}"
    if draw(st.booleans()):   # written by zipfile, honest headers
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            for name, data in members.items():
                z.writestr(zipfile.ZipInfo(name), data, compress_type=draw(st.sampled_from(METHODS)))
        data = buffer.getvalue()
    else:                     # written by hand, sizes and checksums possibly lying
        entries = []
        for name, plain in members.items():
            method = draw(st.sampled_from([0, 0, 8]))
            stored = plain if method == 0 else (lambda c: c.compress(plain) + c.flush())(
                zlib.compressobj(6, zlib.DEFLATED, -15))
            honest = draw(st.integers(0, 3)) > 0
            size = len(plain) if honest else draw(st.sampled_from(
                [0, len(plain) + 1, max(len(plain) - 1, 0), 2 ** 31, 2 ** 32 - 1, 100 << 20]))
            crc = zlib.crc32(plain) if draw(st.integers(0, 7)) else draw(st.integers(0, 2 ** 32 - 1))
            csize = len(stored) if draw(st.integers(0, 7)) else draw(st.sampled_from([0, len(stored) + 7, 2 ** 32 - 1]))
            entries.append({"name": name, "data": stored, "method": method, "size": size, "crc": crc,
                            "csize": csize})
        data = raw_zip(entries)
    damage = draw(st.sampled_from(["none"] * 9 + ["truncate", "flip", "append"]))
    if damage == "truncate":
        data = data[:draw(st.integers(4, len(data)))]
    elif damage == "flip":
        at = draw(st.integers(4, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    elif damage == "append":
        data += draw(st.binary(min_size=1, max_size=64))
    return data


# ------------------------------------------------------------------ the contract


def _kind(message: str) -> str:
    """A refusal's kind, for the figures."""
    for pattern, kind in [("regular file|is a folder", "not a file"), ("holds about", "too many values"),
                          ("nested more than", "nesting"), ("64-bit integer", "huge integer"),
                          ("floating-point|not a finite", "non-finite number"), ("surrogate", "lone surrogate"),
                          ("zip bomb", "inflation ratio"), ("compression", "compression method"),
                          ("memory budget", "memory budget"), ("table of contents", "table of contents"),
                          (r"would be .* more than|inflates to more", "member size"), ("is encrypted", "encrypted"),
                          ("archive is damaged", "damaged archive"), ("holds no project.json", "no project.json"),
                          ("safetensors is damaged|not a state_dict", "damaged tensors"),
                          ("not valid JSON", "invalid JSON"), ("not text", "not text"),
                          ("not a NetStudio project|newer NetStudio", "not a project"),
                          ("is not a valid project", "schema")]:
        if re.search(pattern, message):
            return kind
    return "other: " + message[:60]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _peak() -> int:
    """The process's peak memory so far, in bytes (Linux reports KB, macOS bytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def _cli(path: Path) -> tuple[int, str]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(["check", str(path)])
    return rc, err.getvalue()


def _load_or_refuse(folder: Path, data: bytes, what: str):
    """The load contract; returns what loaded (or None), counting the outcome."""
    path = folder / "fuzzed.netstudio"
    path.write_bytes(data)
    peak, start = _peak(), time.monotonic()
    FIGURES[f"{what}: tried"] += 1
    try:
        loaded = load_project_file(path)
    except NetStudioError as err:
        message = str(err)
        assert message and "\n" not in message and "Traceback" not in message, message
        FIGURES[f"{what}: refused: {_kind(message)}"] += 1
        loaded = None
        rc, stderr = _cli(path)    # netstudio check reads no tensors: damaged ones do not stop it
        if rc == 2:
            assert stderr.startswith("netstudio: ") and stderr.count("\n") == 1, stderr
        assert "Traceback" not in stderr and "unexpected error" not in stderr, (rc, stderr)
        with contextlib.suppress(NetStudioError):
            load_project_file(path, weights=False)
            assert rc in (0, 1), (rc, stderr)
    else:
        FIGURES[f"{what}: loaded"] += 1
    assert time.monotonic() - start < SECONDS
    assert _peak() - peak < MEMORY_GROWTH
    return loaded


@QUIET
@FUZZ
@given(data=mutated_json())
def test_fuzzed_json_loads_or_is_refused_in_one_line(folder, data):
    _load_or_refuse(folder, data, "json")


@QUIET
@FUZZ
@given(data=archives())
def test_fuzzed_archives_load_or_are_refused_in_one_line(folder, data):
    loaded = _load_or_refuse(folder, data, "archive")
    if loaded is not None:
        assert loaded.weights is None or isinstance(loaded.weights, dict)
        assert isinstance(loaded.unplaced, dict)


@QUIET
@FUZZ
@given(data=st.one_of(mutated_json(free_only=True), mutated_json(free_only=True), mutated_json(), archives()))
def test_check_and_the_cli_never_crash_on_what_loads(folder, data):
    path = folder / "checked.netstudio"
    path.write_bytes(data)
    try:
        loaded = load_project_file(path, weights=False)
    except NetStudioError:
        return
    FIGURES["check: projects checked"] += 1
    start = time.monotonic()
    try:
        check(loaded.project)
    except Exception as err:   # reported to the lead, who owns check()
        CHECK_FAILURES.append(f"{type(err).__name__}: {err} <- {data[:200]!r}")
        raise
    rc, stderr = _cli(path)
    assert rc in (0, 1) and "Traceback" not in stderr and "unexpected error" not in stderr, (rc, stderr)
    assert time.monotonic() - start < SECONDS


def test_zz_figures():
    """Print what the fuzzing tried (run with -s); every kind of outcome should have come up."""
    print("\nfuzz figures:")
    for key, count in sorted(FIGURES.items()):
        print(f"  {key}: {count}")
    if CHECK_FAILURES:
        print("check() raised on:", *CHECK_FAILURES[:5], sep="\n  ")
    if FIGURES["json: tried"] and FIGURES["archive: tried"]:
        assert FIGURES["json: loaded"] > 0 and FIGURES["archive: loaded"] > 0
        assert sum(v for k, v in FIGURES.items() if k.startswith("json: refused")) > 0
        assert sum(v for k, v in FIGURES.items() if k.startswith("archive: refused")) > 0
