"""``netstudio diff`` of two checkpoints against reading both once.

Two safetensors files of ``SIZE_MB`` each (eight float32 tensors, the second
file a perturbed copy), in the page cache; the baseline reads both with
``safetensors.torch.load_file`` and touches every value (a sum), the
candidate is :func:`diff_checkpoints`.  Target: at most 2x the baseline
(the issue's target for 1 GB files; pass a size in MB to try larger ones).
Run: python benchmarks/bench_diff.py [SIZE_MB]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import median_time  # noqa: E402

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from netstudio.training.diff import diff_checkpoints  # noqa: E402

TARGET = 2.0


def main(size_mb: int) -> None:
    per_tensor = size_mb * (1 << 20) // 4 // 8
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.safetensors", Path(tmp) / "b.safetensors"
        tensors = {f"layer{i}.weight": torch.randn(per_tensor) for i in range(8)}
        save_file(tensors, str(a))
        save_file({k: v + 0.01 for k, v in tensors.items()}, str(b))
        del tensors

        def read_both() -> float:
            return sum(float(t.sum()) for path in (a, b) for t in load_file(str(path)).values())

        diff = median_time(lambda: diff_checkpoints(str(a), str(b)), repeats=5)
        read = median_time(read_both, repeats=5)
        ratio = diff / read
        print(f"two {size_mb} MB checkpoints: diff {diff * 1e3:.0f} ms, reading both once {read * 1e3:.0f} ms, "
              f"ratio {ratio:.2f} (target <= {TARGET}) {'OK' if ratio <= TARGET else 'OVER'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 256)
