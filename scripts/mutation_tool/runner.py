"""Step 3 of the mutation tool: one pytest process collects the pool once, then forks a child per
mutant (and a baseline child without one), swaps the mutated code into the live function and runs
the tests that reach it; the parent polls the children's pipes and records an :class:`Outcome` each.
The children rely on this module's state as it was at the fork."""

from __future__ import annotations

import ast
import importlib
import os
import select
import signal
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

from .common import ROOT, quiet_hypothesis, say
from .equivalents import EQUIVALENT
from .livecode import code_of, live_functions, module_name
from .mutants import Mutant, apply


@dataclass
class Outcome:
    status: str                 # killed | survived | timeout | crash | uncovered | not-applied | error | equivalent
    detail: str = ""
    seconds: float = 0.0
    tests: int = 0
    setup: float = 0.0          # seconds from the fork to the first test


@dataclass
class Child:
    mutant: Mutant | None
    pid: int
    fd: int
    tests: list[int]
    started: float
    buffer: bytes = b""
    current: int = -1
    deadline: float = 0.0
    failed: int | None = None
    note: str = ""
    status: str = ""             # timeout | crash | not-applied | error, once known
    first_test: float = 0.0      # when the first test started (the mutant applied)


class Runner:
    """A pytest plugin that collects the pool once, then forks a child per mutant."""

    def __init__(self, args, mutants, texts, mapping):
        self.args, self.mutants, self.texts, self.mapping = args, mutants, texts, mapping
        self.items = {}
        self.outcomes: dict[int, Outcome] = {}
        self.baseline_failures: list[str] = []
        self.completed = False
        self.reach: dict[int, int] = {}     # mutant id -> how many tests reach it

    def pytest_configure(self, config):
        quiet_hypothesis()

    def pytest_collection_modifyitems(self, session, config, items):
        self.items = {item.nodeid: item for item in items}

    def pytest_runtestloop(self, session):
        run_mutants(self, session)
        self.completed = True
        return True


def run_mutants(runner: Runner, session) -> None:
    args, texts, mapping = runner.args, runner.texts, runner.mapping
    files = sorted({m.file for m in runner.mutants})
    for rel in files:
        importlib.import_module(module_name(rel))
    live = live_functions(files)

    # The module as loaded must be the text we mutate: compile it and compare each function's code.
    originals = {rel: compile(ast.parse(texts[rel]), str(ROOT / rel), "exec") for rel in files}
    stale = set()
    for (rel, qualname, first), funcs in live.items():
        code = code_of(originals[rel], qualname, first)
        if code is None or any(f.__code__.co_code != code.co_code for f in funcs):
            stale.add(rel)
    for rel in sorted(stale):
        say(f"warning: {rel} changed since it was imported; its mutants are skipped (run again)")

    tests = mapping["tests"]
    usable = [i for i, t in enumerate(tests) if t["passed"] and t["nodeid"] in runner.items]
    order = sorted(usable, key=lambda i: (tests[i]["duration"], tests[i]["nodeid"]))
    rank = {i: r for r, i in enumerate(order)}

    def covering(m: Mutant) -> list[int]:
        lines = mapping["lines"].get(m.file, {})
        found = set()
        for line in range(m.line, m.end_line + 1):
            found.update(lines.get(str(line), ()))
        return sorted((i for i in found if i in rank), key=rank.__getitem__)

    # How focused each test is on each file: the share of the target lines it runs that lie there.
    per_test: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for rel, lines in mapping["lines"].items():
        for hits in lines.values():
            for i in hits:
                per_test[i][rel] += 1
    totals = {i: sum(counts.values()) for i, counts in per_test.items()}

    def choose(m: Mutant, found: list[int]) -> list[int]:
        """At most ``--max-tests`` of the tests that reach a mutant: those most focused on its file
        first (a module's own tests), then the fastest; they run fastest first."""
        if not args.max_tests or len(found) <= args.max_tests:
            return found
        focus = {i: per_test[i][m.file] / totals[i] for i in found}
        picked = sorted(found, key=lambda i: (-round(focus[i], 1), rank[i]))[: args.max_tests]
        return sorted(picked, key=rank.__getitem__)

    stale_keys = [k for k in EQUIVALENT if k[0] in files and k not in {m.key for m in runner.mutants}]
    if stale_keys and not args.ids and not args.sample:
        say(f"note: {len(stale_keys)} entries of EQUIVALENT match no mutant any more: {stale_keys}")

    # One temporary folder for every child (pytest would make and prune one per process).
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        factory.getbasetemp()

    # Baseline: every test some mutant needs, in one child, without a mutant.
    plan = []
    for m in runner.mutants:
        if m.key in EQUIVALENT:
            runner.outcomes[m.id] = Outcome("equivalent", EQUIVALENT[m.key])
        elif m.file in stale:
            runner.outcomes[m.id] = Outcome("not-applied", "file changed during the run")
        elif (m.file, m.unit, m.unit_line) not in live:
            runner.outcomes[m.id] = Outcome("not-applied", f"no live function {m.unit} (line {m.unit_line})")
        else:
            found = covering(m)
            imported = set(mapping.get("imported", {}).get(m.file, ()))
            if not found and imported & set(range(m.line, m.end_line + 1)):
                runner.outcomes[m.id] = Outcome("import-time", "runs only while its module is imported")
            elif not found:
                runner.outcomes[m.id] = Outcome("uncovered", "no test runs this line")
            else:
                runner.reach[m.id] = len(found)
                plan.append((m, choose(m, found)))
    needed = sorted({i for _, chosen in plan for i in chosen}, key=rank.__getitem__)
    say(f"{len(runner.mutants)} mutants, {len(plan)} reached by tests; baseline of {len(needed)} tests ...")
    start = time.monotonic()
    failing = baseline(runner, session, needed, tests)
    if failing:
        runner.baseline_failures = [tests[i]["nodeid"] for i in sorted(failing)]
        say(f"left out of the pool (fail without a mutant): {runner.baseline_failures}")
        plan = [(m, [i for i in chosen if i not in failing]) for m, chosen in plan]
        for m, chosen in plan:
            if not chosen:
                runner.outcomes[m.id] = Outcome("uncovered", "only baseline-failing tests run this line")
        plan = [(m, chosen) for m, chosen in plan if chosen]
    say(f"baseline done in {time.monotonic() - start:.0f} s; running {len(plan)} mutants with {args.jobs} jobs")

    # The mutants, args.jobs at a time.
    pending = list(reversed(plan))
    running: dict[int, Child] = {}
    done = 0
    start = time.monotonic()
    last_note = start
    while pending or running:
        while pending and len(running) < args.jobs:
            m, chosen = pending.pop()
            child = fork_child(runner, session, m, chosen, texts[m.file], live[(m.file, m.unit, m.unit_line)])
            running[child.fd] = child
        poll(running, tests, runner, m_done := [])
        done += len(m_done)
        if time.monotonic() - last_note > 30:
            last_note = time.monotonic()
            rate = done / max(1e-9, last_note - start)
            left = len(pending) + len(running)
            say(f"  {done}/{len(plan)} mutants, about {left / max(rate, 1e-9) / 60:.0f} min left")


def baseline(runner: Runner, session, needed: list[int], tests) -> set[int]:
    """Run ``needed`` in a child without a mutant, carrying on past failures; the failing ones.
    A test that hangs or crashes the child is failing too, and the rest run in a new child."""
    failing: set[int] = set()
    remaining = list(needed)
    while remaining:
        child = fork_child(runner, session, None, remaining, None, None, keep_going=True)
        running = {child.fd: child}
        while running:
            poll(running, tests, runner, [])
        if child.note:
            failing |= {int(i) for i in child.note.split()}
        if child.status in ("timeout", "crash", "error") and child.current >= 0:
            failing.add(remaining[child.current])
            remaining = remaining[child.current + 1:]
        else:
            break
    return failing


def fork_child(runner: Runner, session, m: Mutant | None, chosen: list[int], text, funcs,
               keep_going: bool = False) -> Child:
    from _pytest.runner import runtestprotocol
    from _pytest.warnings import catch_warnings_for_item
    tests = runner.mapping["tests"]
    items = [runner.items[tests[i]["nodeid"]] for i in chosen]
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:   # the child: never returns
        code = 4
        try:
            os.close(r)
            os.setpgid(0, 0)
            import faulthandler
            faulthandler.disable()    # a mutant that crashes is killed; its traceback is noise
            out = os.fdopen(w, "w", buffering=1)
            if m is not None:
                tree = apply(ast.parse(text), m)
                module_code = compile(tree, str(ROOT / m.file), "exec")
                new = code_of(module_code, m.unit, m.unit_line)
                if new is None:
                    out.write("N mutated function not found\n")
                    os._exit(3)
                try:
                    for f in funcs:
                        f.__code__ = new
                except ValueError as err:
                    out.write(f"N {err}\n")
                    os._exit(3)
            failures = []
            for n, item in enumerate(items):
                out.write(f"S {n}\n")
                nextitem = items[n + 1] if n + 1 < len(items) else None
                # pytest applies filterwarnings marks (and the ini's filters) around each test in a hook
                # wrapper that runtestprotocol alone skips: without it, warn-once warnings fail tests by
                # their order and count as false kills.
                with catch_warnings_for_item(config=item.config, ihook=item.ihook, when="runtest", item=item,
                                             record=False):
                    reports = runtestprotocol(item, nextitem=nextitem, log=False)
                if any(rep.failed for rep in reports):
                    if not keep_going:
                        out.write(f"F {n}\n")
                        out.flush()
                        os._exit(1)
                    failures.append(n)
            if failures:
                out.write("B " + " ".join(str(chosen[n]) for n in failures) + "\n")
            out.flush()
            code = 0
        except BaseException:
            import traceback
            try:
                out.write("E " + traceback.format_exc().replace("\n", " | ") + "\n")
                out.flush()
            except Exception:
                pass
        finally:
            os._exit(code)
    os.close(w)
    os.set_blocking(r, False)
    child = Child(m, pid, r, chosen, time.monotonic())
    child.deadline = time.monotonic() + 60 * runner.args.timeout_factor   # applying the mutant
    return child


def poll(running: dict[int, Child], tests, runner: Runner, finished: list) -> None:
    ready, _, _ = select.select(list(running), [], [], 0.5)
    now = time.monotonic()
    for fd in list(running):
        child = running[fd]
        eof = False
        if fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                chunk = b""
            eof = chunk == b"" and fd in ready
            child.buffer += chunk
            *lines, child.buffer = child.buffer.split(b"\n")
            for raw in lines:
                kind, _, rest = raw.decode(errors="replace").partition(" ")
                if kind == "S":
                    child.current = int(rest)
                    child.first_test = child.first_test or now
                    limit = tests[child.tests[child.current]]["duration"]
                    child.deadline = now + (10 * limit + 10) * runner.args.timeout_factor
                elif kind == "F":
                    child.failed = int(rest)
                elif kind == "B":
                    child.note = rest
                elif kind in ("N", "E"):
                    child.status = "not-applied" if kind == "N" else "error"
                    child.note = rest
        timed_out = not eof and now > child.deadline
        if timed_out:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if eof or timed_out:
            _, status = os.waitpid(child.pid, 0)
            os.close(fd)
            del running[fd]
            seconds = now - child.started
            if timed_out:
                child.status = "timeout"
            elif os.WIFSIGNALED(status):
                child.status = "crash"
            finished.append(child)
            m = child.mutant
            if m is None:
                continue
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
            ran = child.current + 1
            if child.status == "timeout":
                test = tests[child.tests[child.current]]["nodeid"] if child.current >= 0 else "(applying)"
                outcome = Outcome("killed", f"timeout in {test}", seconds, ran)
            elif child.status == "crash":
                outcome = Outcome("killed", f"crash (signal {os.WTERMSIG(status)})", seconds, ran)
            elif code == 1 and child.failed is not None:
                outcome = Outcome("killed", tests[child.tests[child.failed]]["nodeid"], seconds, ran)
            elif code == 0:
                outcome = Outcome("survived", f"{len(child.tests)} of the {runner.reach.get(m.id)} tests that "
                                              f"reach it pass", seconds, ran)
            elif code == 3:
                outcome = Outcome("not-applied", child.note, seconds, 0)
            else:
                outcome = Outcome("error", child.note or f"exit {code}", seconds, ran)
            outcome.setup = max(0.0, (child.first_test or now) - child.started)
            runner.outcomes[m.id] = outcome
