"""Importing existing models: ResNet-50 and ViT-B/16 (torchvision), against a bare torch.fx trace.

Targets (issue 10): a ResNet-50 imports in at most 3 s and a ViT-B/16 in at most 10 s.  The import
is everything ``netstudio import`` does before writing the file: the hierarchy traced one level at a
time, blocks matched, definitions shared, the project checked and compiled, the weights loaded
strictly and the outputs compared with the model's on one example.  The baseline is
``torch.fx.symbolic_trace`` of the same model, in the same run.

    .venv/bin/python benchmarks/bench_import.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import fx  # noqa: E402

from benchmarks.common import median_time  # noqa: E402

TARGETS = {"resnet50": 3.0, "vit_b_16": 10.0}


def main() -> int:
    try:
        from netstudio.importer.torchvision_models import import_torchvision_module
        models = import_torchvision_module("torchvision.models")
    except ImportError:
        print("torchvision is not installed: nothing to measure (make setup installs the paired release)")
        return 0
    from netstudio.importer import from_module
    from netstudio.importer.convert import ModelConverter
    torch.set_num_threads(max(1, torch.get_num_threads()))
    for name, target in TARGETS.items():
        torch.manual_seed(0)
        model = getattr(models, name)().eval()
        x = torch.randn(1, 3, 224, 224)
        start = time.perf_counter()
        result = from_module(model, x)
        first = time.perf_counter() - start
        imported = median_time(lambda: from_module(model, x), repeats=3)
        converted = median_time(lambda: ModelConverter(name).convert(model, (x,)), repeats=3)
        traced = median_time(lambda: fx.symbolic_trace(model), repeats=3)
        blocks = sum(len(d.nodes) for d in result.project.definitions.values())
        print(f"{name}: import {imported:.2f} s (first {first:.2f} s; target {target:.0f} s), "
              f"fx.symbolic_trace {traced * 1000:.0f} ms, ratio {imported / traced:.1f}x; "
              f"of which the hierarchy and blocks {converted * 1000:.0f} ms ({converted / traced:.1f}x the trace), "
              f"the rest checking, compiling, loading and comparing outputs; "
              f"{len(result.project.definitions)} definitions, {blocks} nodes, "
              f"{len(result.fallbacks)} code blocks, problems: {result.problems or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
