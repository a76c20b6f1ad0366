"""``netstudio diff`` of two checkpoints against reading both once.

Two safetensors files of ``SIZE_MB`` each (eight float32 tensors of equal
size, the second file a perturbed copy), in the page cache.  Baseline,
"reading both files once": for each file ``safetensors.safe_open`` and, for
each tensor, ``get_tensor`` (a view on safetensors' memory mapping, nothing
copied) and ``.sum()`` of it, which touches every byte once.  Candidate:
:func:`diff_checkpoints` (every tensor's ‖A‖ and ‖B − A‖).  Both open the
files afresh each time; times are medians of interleaved repeats.  Target:
at most 2x the baseline for 1 GB files (the issue's figure, the default).
The baseline's ``.sum()`` runs on one core while the diff spreads its work
over all of torch's threads in short parallel sections, so other processes
busy on the same cores slow the diff more than the baseline: the load
average is printed beside the result, and a ratio measured under load
says little.
Run: python benchmarks/bench_diff.py [SIZE_MB]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import compare  # noqa: E402

import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from netstudio.training.diff import diff_checkpoints  # noqa: E402

TARGET = 2.0
TENSORS = 8


def main(size_mb: int) -> None:
    per_tensor = size_mb * (1 << 20) // 4 // TENSORS
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.safetensors", Path(tmp) / "b.safetensors"
        tensors = {f"layer{i}.weight": torch.randn(per_tensor) for i in range(TENSORS)}
        save_file(tensors, str(a))
        save_file({k: v + 0.01 for k, v in tensors.items()}, str(b))
        del tensors
        os.sync()   # measure after the files are written back, not while the disk is busy with them

        def read_both() -> float:
            total = 0.0
            for path in (a, b):
                with safe_open(str(path), framework="pt") as f:
                    for name in f.keys():
                        total += float(f.get_tensor(name).sum())
            return total

        diff, read, ratio = compare(lambda: diff_checkpoints(str(a), str(b)), read_both, number=1, repeats=7)
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"two {size_mb} MB checkpoints ({TENSORS} float32 tensors each, {torch.get_num_threads()} threads): "
              f"diff {diff * 1e3:.0f} ms, reading both once {read * 1e3:.0f} ms "
              f"(baseline: safe_open + get_tensor + .sum() of every tensor of both files), "
              f"ratio {ratio:.2f} (target <= {TARGET}) {'OK' if ratio <= TARGET else 'OVER'}; "
              f"load average {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1024)
