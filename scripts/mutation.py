#!/usr/bin/env python
"""Mutation testing for NetStudio: do the tests notice when the code is wrong?

``make mutation`` (or ``.venv/bin/python scripts/mutation.py``) makes small
mistakes ("mutants") in the engine's core modules and in ``ui/document/``, one
at a time, runs the tests that reach each mistake, and reports which mistakes
no test noticed.  It needs nothing beyond ``make setup``: the mutants are made
with Python's ``ast``, and the line-to-test map with ``sys.settrace``.

How it works
------------
1. **Map** (a subprocess): the whole test pool (``tests/engine`` and
   ``tests/ui``) runs once under a tracer that records, per test, the lines of
   the target files it executes, its duration and whether it passed.
2. **Mutants**: every function and method body of the target files is walked;
   each mutation below is one mutant.  Code outside functions (module and class
   level constants, default argument values, decorators, annotations) and
   f-strings (messages) are not mutated.

   - arithmetic ``+ -``, ``* /``, ``// /``, ``% //``, ``** *``, shifts, ``| &``
     (also in ``+=``, etc.); unary ``-x`` -> ``x`` and ``not x`` -> ``x``
   - comparisons ``< <=``, ``> >=``, ``== !=``, ``is``/``is not``, ``in``/``not in``
   - boolean operators ``and`` <-> ``or``
   - constants ``0 -> 1``, ``1 -> 0``, ``n -> n + 1``, ``True`` <-> ``False``
   - ``return x`` -> ``return None``
   - a statement inside a branch (``if``/``else``, loop, ``try``, ``with``)
     removed (replaced by ``pass``)
   - the first two positional arguments of a call swapped
3. **Run**: one pytest process collects the pool once and then, for each
   mutant, forks; the child compiles the mutated module from memory and swaps
   the ``__code__`` of the live function that contains the mutant (so no file
   is ever written: the tree may be shared with others), then runs only the
   tests that executed the mutant's lines, fastest first, stopping at the first
   failure.  A test that runs past ``10 x`` its mapped time (+ 10 s) kills the
   mutant too (a hang counts as killed).  A baseline child without a mutant
   runs first; a test that fails there is left out of the pool.
4. **Report**: killed / total per module and overall, the survivors with
   ``file:line``, the function and the change, and the mutants marked
   equivalent (with the reason) in ``mutation_tool/equivalents.py``, which do not count.
   The report is printed and written to ``build/mutation/report.txt`` (and
   ``report.json``).

Options: ``--only netstudio/init`` (a path prefix, repeatable), ``--sample N
--seed S`` (a reproducible random sample, stratified per module),
``--jobs J``, ``--list`` (the mutants, no run), ``--show ID`` (one mutant's
diff, to apply by hand), ``--stale-map`` (reuse the last map as it is, even if the
targets or the tests changed since: quick, but a changed line can point at the wrong tests).  Exit status 0 when the score is at
least ``--min-score`` (default 90).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

from mutation_tool.common import OUT_DIR, ROOT, TEST_POOL, close_say, say, target_files
from mutation_tool.livecode import try_edit
from mutation_tool.mapping import map_tests, update_map
from mutation_tool.mutants import all_mutants, show
from mutation_tool.report import report
from mutation_tool.runner import Outcome, Runner


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", action="append", default=[], help="mutate only files under this path (repeatable)")
    p.add_argument("--sample", type=int, default=0, help="mutate a random sample of N mutants")
    p.add_argument("--seed", type=int, default=9, help="the sample's seed")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--max-tests", type=int, default=40,
                   help="run at most N of the tests that reach a mutant, spread over test files (0: all)")
    p.add_argument("--timeout-factor", type=float, default=1.0, help="scale the per-test time limits")
    p.add_argument("--min-score", type=float, default=90.0)
    p.add_argument("--list", action="store_true", help="list the mutants and stop")
    p.add_argument("--show", type=int, action="append", default=[], help="print mutant ID's diff and stop")
    p.add_argument("--ids", type=str, default="", help="run only these mutant ids (comma separated)")
    p.add_argument("--remap", action="store_true", help="map every test again, even those unchanged")
    p.add_argument("--stale-map", action="store_true", help=argparse.SUPPRESS)   # reuse it anyway (tool work)
    p.add_argument("--map-only", metavar="OUT", help=argparse.SUPPRESS)   # then the test files to map
    p.add_argument("--try", dest="try_edit", nargs=3, metavar=("FILE", "OLD", "NEW"),
                   help="run the tests given after -- with OLD replaced by NEW in FILE, in memory only")
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    args = p.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    if args.try_edit:
        return try_edit(*args.try_edit, pytest_args)
    files = target_files(args.only)
    if args.map_only:
        map_tests(target_files([]), Path(args.map_only), pytest_args or list(TEST_POOL))
        return 0
    say("")   # takes its copy of fd 2 before pytest captures it
    texts = {rel: (ROOT / rel).read_text() for rel in files}
    mutants = all_mutants(files, texts)
    if args.show:
        for i in args.show:
            m = next(m for m in mutants if m.id == i)
            print(f"#{m.id} {m.file}:{m.line} {m.unit}: {m.change}")
            print(show(m, texts[m.file]))
        return 0
    if args.list:
        for m in mutants:
            print(f"#{m.id:<5} {m.file}:{m.line}  {m.unit}: {m.change}")
        print(f"{len(mutants)} mutants")
        return 0
    if args.ids:
        wanted = {int(x) for x in args.ids.split(",") if x}
        mutants = [m for m in mutants if m.id in wanted]
    if args.sample and args.sample < len(mutants):
        rng = random.Random(args.seed)
        by_file = defaultdict(list)
        for m in mutants:
            by_file[m.file].append(m)
        share = args.sample / len(mutants)
        chosen = []
        for rel in sorted(by_file):
            group = by_file[rel]
            chosen += rng.sample(group, max(1, round(len(group) * share)))
        mutants = sorted(chosen, key=lambda m: m.id)

    started = time.monotonic()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    map_path = OUT_DIR / "map.json"
    mapping = json.loads(map_path.read_text()) if args.stale_map and map_path.exists() else \
        update_map(map_path, full=args.remap)
    if mapping is None:
        return 2
    failing = [t["nodeid"] for t in mapping["tests"] if not t["passed"]]

    import pytest
    runner = Runner(args, mutants, texts, mapping)
    pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly", *TEST_POOL], plugins=[runner])
    if not runner.completed:
        say("the mutation run did not complete (see pytest's message above)")
        return 2
    extra = []
    if failing:
        extra.append(f"Tests that failed or were skipped in the map, left out: {len(failing)}")
    if runner.baseline_failures:
        extra.append(f"Tests that failed in the forked baseline, left out: {runner.baseline_failures}")
    text, overall = report(mutants, runner.outcomes, args, time.monotonic() - started, extra)
    (OUT_DIR / "report.txt").write_text(text + "\n")
    (OUT_DIR / "report.json").write_text(json.dumps(
        [{"id": m.id, "file": m.file, "line": m.line, "unit": m.unit, "change": m.change,
          **vars(runner.outcomes.get(m.id, Outcome("not-run")))} for m in mutants], indent=1))
    print(text)
    return 0 if overall >= args.min_score else 1


if __name__ == "__main__":
    try:
        code = main()
    finally:
        close_say()
    sys.exit(code)
