"""Step 1 of the mutation tool: which tests run which target lines.  The whole test pool runs once
under a tracer (in a subprocess of the entry point, ``--map-only``); the map is kept in
``OUT_DIR/map.json`` and only changed test files are mapped again."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from .common import ENTRY, ROOT, TEST_POOL, quiet_hypothesis, say, target_files


class Tracer:
    """A pytest plugin: per test, the target lines it runs, its duration and outcome."""

    def __init__(self, files: list[str]):
        self.files = {str(ROOT / f): f for f in files}
        self.tests: list[dict] = []
        self.lines: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.current: set = set()
        self.imported: set | None = None   # lines run before the first test: module level, at import

    def _local(self, frame, event, arg):
        if event == "line":
            self.current.add((frame.f_code.co_filename, frame.f_lineno))
        return self._local

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename in self.files:
            self.current.add((frame.f_code.co_filename, frame.f_lineno))
            return self._local
        return None

    def pytest_configure(self, config):
        quiet_hypothesis()

    def pytest_runtest_protocol(self, item, nextitem):
        import threading
        if self.imported is None:
            sys.settrace(None)
            self.imported = self.current
        self.current = set()
        self._failed = False
        start = time.perf_counter()
        threading.settrace(self._global)
        sys.settrace(self._global)
        try:
            from _pytest.runner import runtestprotocol
            reports = runtestprotocol(item, nextitem=nextitem, log=True)
        finally:
            sys.settrace(None)
            threading.settrace(None)
        duration = time.perf_counter() - start
        passed = not any(r.failed or r.skipped for r in reports)
        index = len(self.tests)
        self.tests.append({"nodeid": item.nodeid, "duration": duration, "passed": passed})
        for filename, line in self.current:
            self.lines[self.files[filename]][line].append(index)
        return True


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprints(files: list[str]) -> tuple[str, dict[str, str]]:
    """(a digest of the targets and the pool's helpers, a digest per test file).  A test file's
    lines stay valid while the first is unchanged, so only changed test files are mapped again."""
    h = hashlib.sha256()
    test_files: dict[str, str] = {}
    helpers = []
    for pool in TEST_POOL:
        for path in sorted((ROOT / pool).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if path.name.startswith("test_"):
                test_files[rel] = _digest(path)
            else:
                helpers.append(path)
    for path in [ROOT / f for f in sorted(files)] + [ROOT / "tests" / "conftest.py"] + helpers:
        if path.exists():
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest(), test_files


def map_tests(files: list[str], out: Path, paths: list[str]) -> None:
    """Step 1, in this (sub)process, for the test files ``paths``."""
    import pytest
    tracer = Tracer(files)
    sys.settrace(tracer._global)     # until the first test: what importing the modules runs
    try:
        code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly", *paths], plugins=[tracer])
    finally:
        sys.settrace(None)
    imported: dict[str, list[int]] = defaultdict(list)
    for filename, line in tracer.imported or tracer.current:
        imported[tracer.files[filename]].append(line)
    data = {"tests": tracer.tests,
            "lines": {f: {str(k): v for k, v in lines.items()} for f, lines in tracer.lines.items()},
            "imported": imported, "exit": int(code)}
    out.write_text(json.dumps(data))


def update_map(map_path: Path, full: bool) -> dict | None:
    """The line -> tests map, brought up to date: everything mapped again when a target or a
    helper changed (or ``full``), else only the test files that changed since."""
    base, test_files = fingerprints(target_files([]))
    old = json.loads(map_path.read_text()) if map_path.exists() and not full else None
    if old is None or old.get("base") != base:
        old, todo = None, sorted(test_files)
    else:
        todo = sorted(f for f, digest in test_files.items() if old["files"].get(f) != digest)
    if old is not None and not todo and set(old["files"]) == set(test_files):
        return old
    start = time.monotonic()
    what = "the whole pool" if old is None else f"{len(todo)} changed test file(s)"
    say(f"mapping lines to tests ({what} runs once, traced) ...")
    part = map_path.with_suffix(".part.json")
    proc = subprocess.run([sys.executable, str(ENTRY), "--map-only", str(part), "--", *todo],
                          stdout=subprocess.DEVNULL) if todo else None
    if proc is not None and (proc.returncode != 0 or not part.exists()):
        say("mapping failed")
        return None
    new = json.loads(part.read_text()) if todo else {"tests": [], "lines": {}}
    part.unlink(missing_ok=True)
    tests, lines = [], defaultdict(lambda: defaultdict(list))
    if old is not None:     # keep the unchanged files' tests, renumbered
        keep = {i: t for i, t in enumerate(old["tests"])
                if t["nodeid"].split("::")[0] in test_files and t["nodeid"].split("::")[0] not in todo}
        renumber = {i: n for n, i in enumerate(keep)}
        tests = list(keep.values())
        for rel, by_line in old["lines"].items():
            for line, hits in by_line.items():
                lines[rel][line] += [renumber[i] for i in hits if i in renumber]
    offset = len(tests)
    tests += new["tests"]
    for rel, by_line in new["lines"].items():
        for line, hits in by_line.items():
            lines[rel][line] += [offset + i for i in hits]
    imported = {rel: sorted(set(old.get("imported", {}).get(rel, []) if old else []) | set(found))
                for rel, found in new.get("imported", {}).items()}
    data = {"base": base, "files": test_files, "tests": tests, "lines": lines, "imported": imported}
    map_path.write_text(json.dumps(data))
    say(f"mapped in {time.monotonic() - start:.0f} s")
    return json.loads(map_path.read_text())
