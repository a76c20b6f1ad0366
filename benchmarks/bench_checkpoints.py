"""Checkpoint listing and tensor file throughput.

1. open_checkpoint + list every entry of a 1 GB safetensors file, against a
   bare header parse (8-byte length + json.loads) in the same run.
2. save_tensors / load_tensors of ~256 MB (.safetensors and .pt), against a
   raw ``write(tensor.numpy().tobytes())`` and ``read()`` of the same bytes.
   Our saves are atomic and fsynced, so a raw write + fsync is shown too.
   Loads are memory-mapped, so every load is followed by a sum over the data
   (the raw read is summed too) to measure bytes actually read.
Files live in a temporary folder that is deleted afterwards.
Run: python benchmarks/bench_checkpoints.py
"""

from __future__ import annotations

import json
import os
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from netstudio.files.checkpoint import open_checkpoint
from netstudio.files.tensor_io import load_tensors, save_tensors

MB = 1 << 20
LIST_TARGET_MS = 100.0


def median_s(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def header_only(path: Path) -> list[str]:
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return [k for k in json.loads(f.read(length)) if k != "__metadata__"]


def bench_listing(folder: Path) -> None:
    big = torch.empty(256, MB // 4 * 4).uniform_(-1, 1)  # 256 tensors x 4 MB = 1 GB
    path = folder / "1gb.safetensors"
    start = time.perf_counter()
    save_tensors({f"layers.{i}.weight": big[i].reshape(512, 2048) for i in range(256)}, path)
    write_s = time.perf_counter() - start
    del big
    size_mb = path.stat().st_size / MB
    print(f"wrote {size_mb:.0f} MB safetensors (256 tensors) in {write_s:.1f} s")

    def open_and_list() -> int:
        c = open_checkpoint(path)
        return len([(e.name, e.shape, e.dtype, e.nbytes) for e in c.entries])

    first = median_s(open_and_list, 1) * 1000
    listing = median_s(open_and_list, 10) * 1000
    baseline = median_s(lambda: header_only(path), 10) * 1000
    verdict = "meets" if listing <= LIST_TARGET_MS else "MISSES"
    print(f"open_checkpoint + list (first)     {first:8.2f} ms")
    print(f"open_checkpoint + list (median)    {listing:8.2f} ms   {verdict} the {LIST_TARGET_MS:.0f} ms target")
    print(f"baseline: raw header parse         {baseline:8.2f} ms   ratio {listing / baseline:.1f}x")
    path.unlink()


def bench_throughput(folder: Path) -> None:
    tensors = {f"block{i}.weight": torch.randn(2048, 2048) for i in range(16)}  # 16 x 16 MB
    total_mb = sum(t.numel() * t.element_size() for t in tensors.values()) / MB
    flat = torch.cat([t.reshape(-1) for t in tensors.values()])
    raw_path = folder / "raw.bin"

    def raw_write(sync: bool) -> None:
        with open(raw_path, "wb") as f:
            f.write(flat.numpy().tobytes())
            if sync:
                f.flush()
                os.fsync(f.fileno())

    def raw_read() -> float:
        with open(raw_path, "rb") as f:
            return float(np.frombuffer(f.read(), np.float32).sum())

    raw_w = median_s(lambda: raw_write(False), 3)
    raw_ws = median_s(lambda: raw_write(True), 3)
    raw_r = median_s(raw_read, 3)
    print(f"\n~{total_mb:.0f} MB in 16 tensors (MB/s; ratio = ours / raw, higher is better)")
    print(f"raw write              {total_mb / raw_w:8.0f} MB/s")
    print(f"raw write + fsync      {total_mb / raw_ws:8.0f} MB/s")
    print(f"raw read + sum         {total_mb / raw_r:8.0f} MB/s")
    for suffix in (".safetensors", ".pt"):
        path = folder / f"weights{suffix}"
        save = median_s(lambda p=path: save_tensors(tensors, p), 3)

        def load_and_touch(p: Path = path) -> float:
            return sum(float(t.sum()) for t in load_tensors(p).values())

        load = median_s(load_and_touch, 3)
        print(
            f"save_tensors {suffix:13s} {total_mb / save:8.0f} MB/s   "
            f"{raw_w / save:.2f}x raw write, {raw_ws / save:.2f}x raw write + fsync"
        )
        print(f"load_tensors {suffix:13s} {total_mb / load:8.0f} MB/s   {raw_r / load:.2f}x raw read")
        path.unlink()
    raw_path.unlink()


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory(prefix="netstudio-bench-") as tmp:
        bench_listing(Path(tmp))
        bench_throughput(Path(tmp))


if __name__ == "__main__":
    main()
