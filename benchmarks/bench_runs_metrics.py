"""Following ``metrics.jsonl`` in the Runs view against parsing its lines once.

A file of ``LINES`` lines as ``netstudio train`` writes them; the candidate
reads it the way the view does, slice by slice (``MetricsTail.poll`` until it
is no longer behind), the baseline reads the file and ``json.loads`` every
line.  Target: at most 1.5x the baseline.  Also printed: the longest single
poll, which is how long the window waits at most while a long run is opened.
Run: python benchmarks/bench_runs_metrics.py [LINES]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import median_time  # noqa: E402

from ui.panels.runs.metrics_tail import MetricsTail  # noqa: E402

TARGET = 1.5


def main(lines: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "metrics.jsonl"
        with open(path, "w") as f:
            for step in range(1, lines + 1):
                f.write(json.dumps({"step": step, "loss": 1.0 / step, "lr": 0.01, "time": 1.7e9 + step,
                                    "elapsed": step * 0.01}) + "\n")

        def follow() -> float:
            tail, longest = MetricsTail(path), 0.0
            while True:
                start = time.perf_counter()
                tail.poll()
                longest = max(longest, time.perf_counter() - start)
                if not tail.behind:
                    return longest

        def parse_once() -> int:
            return len([json.loads(line) for line in path.read_bytes().splitlines()])

        candidate = median_time(follow, repeats=5)
        baseline = median_time(parse_once, repeats=5)
        ratio = candidate / baseline
        print(f"{lines:,} metric lines: followed {candidate * 1e3:.0f} ms (longest poll {follow() * 1e3:.1f} ms), "
              f"parsed once {baseline * 1e3:.0f} ms, ratio {ratio:.2f} (target <= {TARGET}) "
              f"{'OK' if ratio <= TARGET else 'OVER'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
