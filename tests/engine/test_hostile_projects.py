"""Hostile project files (issue #8): each ends in seconds with one sentence, never by exhausting memory.

The hostile loads run in ONE child process (importing torch once) under
``RLIMIT_AS`` and a per-case alarm, so a regression fails a test instead of
hanging or swapping the machine: a case that hangs reports ``timeout``, one
that runs out of memory reports ``crashed`` (MemoryError), and if the child
dies outright every case it did not reach fails.  The hostile files come from
``test_hostile_projects_builders``, shared with ``tests/fuzz``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from tests.engine.test_hostile_projects_builders import (BZIP2_2GB_CRC, BZIP2_2GB_OF_SPACES, MLP, ROOT, deflate_raw,
                                                          deflate_zeros_bomb, mlp_with, raw_zip, safetensors_header,
                                                          stored_weights)

posix_only = pytest.mark.skipif(os.name == "nt", reason="FIFOs, /dev/zero and RLIMIT_AS are POSIX")
MEMORY_LIMIT = 4 << 30      # address space of the child; torch alone maps ~0.7 GB
CASE_SECONDS = 20           # the alarm per case; a passing case must take far less
FAST = 10.0                 # "ends in seconds", with room for a slow shared CI machine

# ------------------------------------------------------------------ the child process

RUNNER = textwrap.dedent(r"""
    import contextlib, io, json, resource, signal, sys, time
    limit = int(sys.argv[2])
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):   # macOS: no RLIMIT_AS; the alarm still bounds time
        pass

    class Timeout(BaseException):
        pass

    def on_alarm(*_):
        raise Timeout()

    signal.signal(signal.SIGALRM, on_alarm)
    from netstudio import cli, limits
    from netstudio.errors import NetStudioError
    from netstudio import serialization

    for job in json.load(open(sys.argv[1])):
        out = {"name": job["name"]}
        limits.set_memory_budget(job.get("budget"))
        start = time.monotonic()
        signal.alarm(job["timeout"])
        try:
            if job["action"] == "cli":
                err, std = io.StringIO(), io.StringIO()
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
                    rc = cli.main(["check", job["path"]])
                out.update(outcome="exit", rc=rc, stderr=err.getvalue())
            else:
                loaded = serialization.load_project_file(job["path"])
                out.update(outcome="loaded", weights=sorted(loaded.weights or {}), unplaced=sorted(loaded.unplaced))
        except Timeout:
            out.update(outcome="timeout")
        except NetStudioError as e:
            out.update(outcome="refused", type=type(e).__name__, message=str(e))
        except BaseException as e:
            out.update(outcome="crashed", type=type(e).__name__, message=str(e)[:300])
        finally:
            signal.alarm(0)
        out["seconds"] = time.monotonic() - start
        print(json.dumps(out), flush=True)
""")

CASES: dict[str, tuple] = {}


def case(action: str, *says: str, budget: int | None = None, marks=()):
    """Register a builder ``(folder) -> path`` as a hostile case run by the child; its refusal must
    be quick and one sentence, and say each of ``says``.  ``marks`` go on the case's test."""
    def register(build):
        CASES[build.__name__] = (build, action, budget, says, marks)
        return build
    return register


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    if os.name == "nt":
        pytest.skip("the hostile runner needs POSIX signals and RLIMIT_AS")
    folder = tmp_path_factory.mktemp("hostile")
    jobs = [{"name": name, "path": str(build(folder)), "action": action, "budget": budget, "timeout": CASE_SECONDS}
            for name, (build, action, budget, _, _) in CASES.items()]
    (folder / "jobs.json").write_text(json.dumps(jobs))
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(folder / "jobs.json"), str(MEMORY_LIMIT)],
                          cwd=ROOT, capture_output=True, text=True, timeout=len(jobs) * CASE_SECONDS + 60)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            results[item["name"]] = item
    for name in CASES:
        results.setdefault(name, {"name": name, "outcome": "died",
                                  "message": f"rc {proc.returncode}: {proc.stderr[-2000:]}"})
    yield results
    shutil.rmtree(folder, ignore_errors=True)   # about 130 MB of bombs


def refused(outcome: dict, *phrases: str) -> str:
    """Assert a quick, one-sentence refusal (CLI: exit 2, no traceback) that says ``phrases``; give the text."""
    assert outcome.get("seconds", 1e9) < FAST, outcome
    if outcome["outcome"] == "exit":
        assert outcome["rc"] == 2, outcome
        text = outcome["stderr"]
        assert text.startswith("netstudio: ") and text.count("\n") == 1, outcome
        assert "Traceback" not in text and "unexpected error" not in text, outcome
        text = text[len("netstudio: "):].strip()
    else:
        assert outcome["outcome"] == "refused", outcome
        text = outcome["message"]
    assert "\n" not in text and text.endswith("."), text
    for phrase in phrases:
        assert phrase in text, (phrase, text)
    return text


# ------------------------------------------------------------------ 1. not a regular file


@case("cli", "zero", "not a regular file",
      marks=pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero"))
def dev_zero(folder):
    """Refused before reading a byte of it."""
    return "/dev/zero"


@case("cli", "pipe.netstudio", "not a regular file")
def fifo(folder):
    """Refused without blocking on the open."""
    path = folder / "pipe.netstudio"
    os.mkfifo(path)
    return path


@case("cli", "dir.netstudio", "folder")
def folder_as_project(folder):
    path = folder / "dir.netstudio"
    path.mkdir()
    return path


# ------------------------------------------------------------------ 2. numbers and nesting


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / f"{name}.netstudio"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    return path


NODE3 = ["definitions", "main", "nodes", 2]


@case("cli", "$.definitions.main.nodes[2].params.deep[0][0]", "nested more than 64")
def nested_100(folder):
    return _write(folder, "nested_100", mlp_with(NODE3 + ["params", "deep"], "[" * 100 + "]" * 100))


@case("cli", "nested more than 64")
def nested_1000(folder):
    return _write(folder, "nested_1000", mlp_with(NODE3 + ["params", "deep"], "[" * 1000 + "]" * 1000))


@case("cli", "nested more than 64")
def nested_100000(folder):
    return _write(folder, "nested_100000", mlp_with(["description"], '{"a":' * 100000 + "1" + "}" * 100000))


@case("cli", "$.definitions.main.nodes[2].params.out_features", "5000 digits")
def digits_5000(folder):
    return _write(folder, "digits_5000", mlp_with(NODE3 + ["params", "out_features"], "7" * 5000))


@case("cli", "$.definitions.main.nodes[2].params.out_features", "401 digits")
def int_10e400(folder):
    return _write(folder, "int_10e400", mlp_with(NODE3 + ["params", "out_features"], str(10 ** 400)))


@case("cli", "$.definitions.main.nodes[2].params.in_features", "64-bit")
def int_beyond_int64(folder):
    return _write(folder, "int_beyond_int64", mlp_with(NODE3 + ["params", "in_features"], str(2 ** 63)))


@case("cli", "$.definitions.main.nodes[2].position[0]: 1e400 is too large for a floating")
def position_1e400(folder):
    return _write(folder, "position_1e400", mlp_with(NODE3 + ["position", 0], "1e400"))


@case("cli", "$.definitions.main.nodes[2].position[1]", "finite")
def position_nan(folder):
    return _write(folder, "position_nan", mlp_with(NODE3 + ["position", 1], "NaN"))


@case("cli", "$.definitions.main.nodes[2].position[0]", "finite")
def position_infinity(folder):
    return _write(folder, "position_infinity", mlp_with(NODE3 + ["position", 0], "-Infinity"))


@posix_only
def test_a_nesting_refusal_stays_short(outcomes):
    assert len(refused(outcomes["nested_100"])) < 400


# ------------------------------------------------------------------ 2b. sheer volume


@case("cli", "values")
def million_lists(folder):
    """Refused before parsing."""
    return _write(folder, "million_lists", mlp_with(NODE3 + ["params", "junk"], "[" + "[]," * 5_000_000 + "[]]"))


@case("cli", "$.definitions.main.edges[0]", "more problems")
def million_schema_errors(folder):
    """Without exhausting memory on a million messages."""
    return _write(folder, "million_schema_errors",
                  mlp_with(["definitions", "main", "edges"], "[" + "1," * 1_500_000 + "1]"))


@case("cli", "70.0 MB")
def json_70mb(folder):
    """Larger than the bound: the refusal says its size."""
    return _write(folder, "json_70mb", mlp_with(["description"], '"' + "x" * (70 << 20) + '"'))


# ------------------------------------------------------------------ 3. lone surrogates


@case("cli", "$.name", "\\ud800")
def surrogate_in_name(folder):
    return _write(folder, "surrogate_in_name", mlp_with(["name"], '"net\\ud800"'))


@case("cli", "$.definitions.main.nodes[2].params", "\\udfff")
def surrogate_in_key(folder):
    return _write(folder, "surrogate_in_key", mlp_with(NODE3 + ["params"], '{"a\\udfff": 1}'))


# ------------------------------------------------------------------ 4. archive bombs


def _archive(folder: Path, name: str, members: list[dict], **kw) -> Path:
    return _write(folder, name, raw_zip(members, **kw))


@case("load", "bzip2_json_bomb.netstudio", "project.json", "2.0 GB")
def bzip2_json_bomb(folder):
    """1.5 KB of bzip2 that claims (truthfully) to be 2 GB of project.json."""
    return _archive(folder, "bzip2_json_bomb", [{"name": "project.json", "data": BZIP2_2GB_OF_SPACES,
                                                 "method": 12, "size": 2 << 30, "crc": BZIP2_2GB_CRC}])


@case("load", "bzip2_json_bomb_that_lies.netstudio", "project.json", "uses bzip2 compression")
def bzip2_json_bomb_that_lies(folder):
    """The same stream declaring a 10 MB inflated size: the declared size must not be trusted."""
    return _archive(folder, "bzip2_json_bomb_that_lies", [{"name": "project.json", "data": BZIP2_2GB_OF_SPACES,
                                                           "method": 12, "size": 10 << 20, "crc": 0}])


@case("load", "project.json", "16.0 MB")
def deflate_json_bomb(folder):
    """16 KB of deflate that inflates to 16 MB of project.json (a 1000:1 ratio)."""
    data = b" " * (16 << 20)
    return _archive(folder, "deflate_json_bomb", [{"name": "project.json", "data": deflate_raw(data), "method": 8,
                                                   "size": len(data), "crc": zlib.crc32(data)}])


@case("load", "weights.safetensors", "2.0 GB")
def deflate_weights_bomb(folder):
    """A 2 MB archive whose weights.safetensors inflates to 2 GB: refused before inflating."""
    nbytes = 2 << 30
    return _archive(folder, "deflate_weights_bomb", [
        {"name": "project.json", "data": MLP.read_bytes()},
        {"name": "weights.safetensors", "data": deflate_zeros_bomb(safetensors_header("w", nbytes), nbytes),
         "method": 8, "size": len(safetensors_header("w", nbytes)) + nbytes, "crc": 0}])


@case("load", "2.0 MB", "memory budget", budget=1 << 20)
def weights_over_budget(folder):
    """Honest stored weights of 2 MB, with a memory budget of 1 MB: the refusal says their size."""
    return _archive(folder, "weights_over_budget", [{"name": "project.json", "data": MLP.read_bytes()},
                                                    {"name": "weights.safetensors", "data": stored_weights(2 << 20)}])


@case("load", "table_of_contents_bomb.netstudio")
def table_of_contents_bomb(folder):
    """A 40 MB table of contents: 700,000 entries, all naming the same member."""
    return _archive(folder, "table_of_contents_bomb", [{"name": "project.json", "data": MLP.read_bytes()}],
                    repeat_directory=700_000)


# ------------------------------------------------------------------ every case: refused in seconds, in one sentence


@posix_only
@pytest.mark.parametrize("name, says", [pytest.param(name, says, id=name, marks=marks)
                                        for name, (_, _, _, says, marks) in CASES.items()])
def test_a_hostile_file_is_refused_quickly_in_one_sentence(outcomes, name, says):
    assert says, f"{name} must say what its refusal says"
    refused(outcomes[name], *says)


# ------------------------------------------------------------------ a file that grows while it is read


def test_the_bound_holds_when_the_size_changes_under_the_reader(tmp_path, monkeypatch):
    """``stat`` says 10 bytes (as a file about to grow, or a /proc file, would); reading stops at the bound."""
    from netstudio.errors import FileFormatError
    from netstudio.files import safe_read
    from netstudio.serialization import load_project, project_file
    path = tmp_path / "growing.netstudio"
    path.write_bytes(b" " * (3 << 20))
    real_fstat = os.fstat

    def small_fstat(fd):
        s = real_fstat(fd)
        return os.stat_result((s.st_mode, s.st_ino, s.st_dev, s.st_nlink, s.st_uid, s.st_gid, 10,
                               int(s.st_atime), int(s.st_mtime), int(s.st_ctime)))
    reads = []
    real_read = safe_read.read_at_most

    def counting(f, limit):
        try:
            return real_read(f, limit)
        finally:
            reads.append(f.tell())
    monkeypatch.setattr(os, "fstat", small_fstat)
    monkeypatch.setattr(project_file, "MAX_JSON_BYTES", 1 << 20)
    monkeypatch.setattr(project_file, "read_at_most", counting)
    with pytest.raises(FileFormatError) as err:
        load_project(path)
    assert str(err.value) == "growing.netstudio is more than the 1.0 MB a project file may have."
    assert reads == [(1 << 20) + 1]
