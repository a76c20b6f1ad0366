"""Step 4 of the mutation tool: the score per module and overall, and the lists of survivors,
uncovered, equivalent and other mutants, as the text that is printed and saved."""

from __future__ import annotations

from collections import defaultdict

from .mutants import Mutant
from .runner import Outcome


def report(mutants: list[Mutant], outcomes: dict[int, Outcome], args, elapsed: float, extra: list[str]) -> tuple[str, float]:
    by_file: dict[str, list[Mutant]] = defaultdict(list)
    for m in mutants:
        by_file[m.file].append(m)
    lines = ["NetStudio mutation score", "=" * 24, ""]
    if args.sample:
        lines.append(f"Sample: {len(mutants)} mutants drawn with seed {args.seed}, stratified per module.")
    lines.append(f"{'module':44} {'killed':>7} {'total':>6} {'score':>7} {'surv':>5} {'uncov':>5} {'equiv':>5} {'n/a':>4}")
    tot_k = tot_n = 0
    for rel in sorted(by_file):
        ms = by_file[rel]
        st = [outcomes.get(m.id, Outcome("not-run")).status for m in ms]
        killed = st.count("killed")
        counted = len(ms) - st.count("equivalent") - st.count("not-applied") - st.count("not-run") \
            - st.count("import-time")
        tot_k += killed
        tot_n += counted
        score = 100.0 * killed / counted if counted else 100.0
        lines.append(f"{rel:44} {killed:7} {counted:6} {score:6.1f}% {st.count('survived'):5} "
                     f"{st.count('uncovered'):5} {st.count('equivalent'):5} "
                     f"{st.count('not-applied') + st.count('import-time'):4}")
    overall = 100.0 * tot_k / tot_n if tot_n else 100.0
    lines.append(f"{'OVERALL':44} {tot_k:7} {tot_n:6} {overall:6.1f}%")
    lines.append("")
    lines.append("(total = all mutants less those marked equivalent, those that could not be applied and those run "
                 "only at import (n/a); a survivor or an uncovered mutant counts as not killed)")
    for status, title in (("survived", "Survivors (the tests that reach them all pass)"),
                          ("uncovered", "Not reached by any test"),
                          ("error", "Errors in the tool"),
                          ("not-applied", "Could not be applied (not counted)"),
                          ("import-time", "Run only while the module is imported, before any test: the tool "
                                          "swaps code in loaded modules, so it cannot try these (not counted)"),
                          ("equivalent", "Marked equivalent (not counted)")):
        chosen = [m for m in mutants if outcomes.get(m.id, Outcome("not-run")).status == status]
        if not chosen:
            continue
        lines += ["", f"{title}: {len(chosen)}"]
        for m in sorted(chosen, key=lambda m: (m.file, m.line)):
            o = outcomes[m.id]
            why = f"  [{o.detail}]" if status in ("equivalent", "not-applied", "error", "survived") else ""
            lines.append(f"  #{m.id:<5} {m.file}:{m.line}  {m.unit}: {m.change}{why}")
    lines += ["", *extra, f"Run time: {elapsed / 60:.1f} min with {args.jobs} jobs."]
    return "\n".join(lines), overall
