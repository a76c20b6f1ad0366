"""``netstudio train``'s cost per step against a hand-written loop on the same model and data.

An MLP (256 -> 512 -> 512 -> 10, batch 64, SGD, shuffled) trains from a
memory-mapped safetensors file through ``prepare``/``train`` (metrics,
progress, checkpoint bookkeeping included); the baseline is the usual loop
over a random permutation of in-memory tensors.  Fixed costs (run directory,
final save with fsync) cancel out: a step's cost is ``(t(2N) - t(N)) / N``
for both sides, as medians of interleaved repeats.  Target: overhead <= 5%.
Run: python benchmarks/bench_train.py
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from netstudio.compiler import compile_project  # noqa: E402
from netstudio.serialization import load_project, save_project  # noqa: E402
from netstudio.training.distributed import World  # noqa: E402
from netstudio.training.loop import prepare, train  # noqa: E402
from netstudio.training.options import options_from_args  # noqa: E402
from tests.engine.builders import chain_project  # noqa: E402

TARGET = 1.05
N, SAMPLES, BATCH = 150, 4096, 64


def setup(folder: Path) -> tuple[Path, Path]:
    doc, _ = chain_project([("Linear", {"in_features": 256, "out_features": 512}), ("ReLU", {}),
                            ("Linear", {"in_features": 512, "out_features": 512}), ("ReLU", {}),
                            ("Linear", {"in_features": 512, "out_features": 10})], shape=(2, 256))
    save_project(doc.project, folder / "net.netstudio", backup=False)
    save_file({"x": torch.randn(SAMPLES, 256), "y": torch.randn(SAMPLES, 10)}, str(folder / "d.safetensors"))
    return folder / "net.netstudio", folder / "d.safetensors"


def ours(project: Path, data: Path, folder: Path, steps: int) -> float:
    run = Path(tempfile.mkdtemp(dir=folder)) / "run"
    args = argparse.Namespace(project=str(project), data=str(data), run_dir=str(run), steps=steps, epochs=None,
                              batch_size=BATCH, lr=0.01, optimizer="sgd", momentum=None, weight_decay=None,
                              loss="mse", save_every=10 ** 9, seed=0, no_shuffle=False, resume=False, nproc=1,
                              update_project=False, trust=False, device="cpu")
    prep = prepare(options_from_args(args), World(0, 1, 0, torch.device("cpu")))
    start = time.perf_counter()
    with redirect_stderr(io.StringIO()), redirect_stdout(io.StringIO()):
        train(prep, World(0, 1, 0, torch.device("cpu")))
    return time.perf_counter() - start


def hand_written(project: Path, data: Path, steps: int) -> float:
    from safetensors.torch import load_file
    model = compile_project(load_project(project))
    tensors = load_file(str(data))
    x, y = tensors["x"], tensors["y"]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    start = time.perf_counter()
    perm = torch.randperm(len(x))
    for step in range(steps):
        k = step % (len(x) // BATCH)
        idx = perm[k * BATCH:(k + 1) * BATCH]
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        loss.item()
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project, data = setup(folder)
        mine, base = [], []
        for _ in range(5):
            mine.append((ours(project, data, folder, 2 * N) - ours(project, data, folder, N)) / N)
            base.append((hand_written(project, data, 2 * N) - hand_written(project, data, N)) / N)
        m, b = statistics.median(mine), statistics.median(base)
        ratio = m / b
        print(f"per step: netstudio train {m * 1e3:.3f} ms, hand-written loop {b * 1e3:.3f} ms, "
              f"ratio {ratio:.3f} (target <= {TARGET}) {'OK' if ratio <= TARGET else 'OVER'}")


if __name__ == "__main__":
    main()
