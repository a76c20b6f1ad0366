"""What a run writes, all of it atomically, and how ``--resume`` finds where it stopped.

``run.json`` (arguments, world size, versions, project hash), ``metrics.jsonl``
(one JSON line per step), ``checkpoints/step-NNNNNN.safetensors`` (the
state_dict under PyTorch's names) beside ``step-NNNNNN.state.pt`` (optimizer
and every rank's RNG state, read back weights-only), and ``final.safetensors``.
A checkpoint counts once its weights file exists; its state file is written
first, so a kill between the two leaves an earlier checkpoint the latest.
Metric lines are appended one ``write`` each (a kill may cut only the last
line); a resume rewrites the file atomically, keeping the steps up to the
checkpoint, so it continues without a gap or a repeat.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch

from netstudio.errors import FileFormatError, NetStudioError
from netstudio.files.atomic import atomic_write_bytes, atomic_writer
from netstudio.files.safe_read import TooLarge, open_regular_file, quoted_name, read_at_most
from netstudio.files.tensor_io import load_tensors, save_tensors, torch_load_weights_only

RUN_JSON, METRICS, FINAL, CHECKPOINTS = "run.json", "metrics.jsonl", "final.safetensors", "checkpoints"
_CHECKPOINT = re.compile(r"\Astep-(\d{6,})\.safetensors\Z")
_MAX_JSON = 1 << 20
_MAX_METRICS = 1 << 30


class RunDir:
    def __init__(self, path: str):
        self.path = Path(path)

    # -------------------------------------------------------- checks, before anything is written

    def check_new(self) -> None:
        """Refuse a path that is a file, or a folder with anything in it."""
        if self.path.is_dir() and not os.listdir(self.path):
            return
        if self.path.exists() or self.path.is_symlink():
            raise NetStudioError(f"{quoted_name(self.path)} already exists; pass --resume to continue that run "
                                 "or choose a new --run-dir.")

    def check_resumable(self, record: dict) -> int:
        """The step of the latest checkpoint (0: none) of a run started with ``record``'s arguments."""
        stored = self.read_record()
        for key in ("world_size", "project_sha256", "samples"):
            if stored.get(key) != record[key]:
                raise NetStudioError(f"The run in {quoted_name(self.path)} was started with {key} "
                                     f"{stored.get(key)!r}, not {record[key]!r}, so it cannot be resumed exactly.")
        for key, value in record["trajectory"].items():
            if stored.get("trajectory", {}).get(key) != value:
                flag = "--" + key.replace("_", "-")
                raise NetStudioError(f"The run in {quoted_name(self.path)} was started with {flag} "
                                     f"{stored.get('trajectory', {}).get(key)!r}, not {value!r}; resume it with "
                                     "the same arguments.")
        return self.latest_checkpoint()

    def read_record(self) -> dict:
        path = self.path / RUN_JSON
        if not path.exists():
            raise NetStudioError(f"{quoted_name(self.path)} holds no {RUN_JSON}, so there is no run to resume.")
        try:
            with open_regular_file(path) as f:
                record = json.loads(read_at_most(f, _MAX_JSON))
        except (TooLarge, ValueError, RecursionError):
            raise FileFormatError(f"{quoted_name(path)} is damaged.") from None
        if not isinstance(record, dict):
            raise FileFormatError(f"{quoted_name(path)} is damaged.")
        return record

    def latest_checkpoint(self) -> int:
        folder = self.path / CHECKPOINTS
        steps = [int(m.group(1)) for m in map(_CHECKPOINT.match, os.listdir(folder) if folder.is_dir() else ())
                 if m and self.state_path(int(m.group(1))).exists()]
        return max(steps, default=0)

    # -------------------------------------------------------- writing (rank 0 only)

    def start(self, record: dict) -> None:
        (self.path / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path / RUN_JSON, (json.dumps(record, indent=1) + "\n").encode())

    def keep_metrics_until(self, step: int) -> None:
        """Rewrite ``metrics.jsonl`` with the lines of steps 1..``step`` only (what a checkpoint covers)."""
        path, kept = self.path / METRICS, []
        if path.exists():
            with open_regular_file(path) as f:
                for line in read_at_most(f, _MAX_METRICS).decode("utf-8", "replace").splitlines():
                    try:
                        row = json.loads(line)
                    except ValueError:
                        continue   # the line a kill cut short
                    if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= step:
                        kept.append(line + "\n")
        atomic_write_bytes(path, "".join(kept).encode())

    def append_metrics(self, rows: list[dict]) -> None:
        with open(self.path / METRICS, "a", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")

    def save_checkpoint(self, step: int, weights: dict[str, torch.Tensor], state: dict) -> None:
        with atomic_writer(self.state_path(step)) as f:
            torch.save(state, f)
        save_tensors(weights, self.weights_path(step))

    def save_final(self, weights: dict[str, torch.Tensor]) -> Path:
        save_tensors(weights, self.path / FINAL)
        return self.path / FINAL

    # -------------------------------------------------------- reading a checkpoint back

    def load_checkpoint(self, step: int) -> tuple[dict[str, torch.Tensor], dict]:
        weights, state = load_tensors(self.weights_path(step)), torch_load_weights_only(self.state_path(step))
        if not isinstance(weights, dict) or not isinstance(state, dict) or "optimizer" not in state:
            raise FileFormatError(f"The checkpoint of step {step} in {quoted_name(self.path)} is damaged.")
        return weights, state

    def weights_path(self, step: int) -> Path:
        return self.path / CHECKPOINTS / f"step-{step:06d}.safetensors"

    def state_path(self, step: int) -> Path:
        return self.path / CHECKPOINTS / f"step-{step:06d}.state.pt"
