"""Replay benchmark (issue #8): compiling a project that recorded many initializers or edits.

An MLP-like project (8 ``Linear(64, 64)`` + ReLU, and one lazy layer) is compiled
with 0, 1,000 and 10,000 recorded initializers, and with as many direct edits;
each time is printed with its ratio to the 0-entry compile of the same run,
once for the compile and once for compile + first forward (where the lazy
layer gets what waited for its shape).
Target: 10,000 entries in about a second or less, growing linearly with the
number of entries.

``--repeats N`` sets how many timed compiles each median uses (default 3),
``--sizes`` the entry counts, ``--threads`` torch's thread count.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_time, ms  # noqa: E402

import torch  # noqa: E402

from netstudio.compiler import compile_project  # noqa: E402
from netstudio.graph import Document, Project  # noqa: E402

LAYERS = 8
WIDTH = 64


def mlp_project() -> Project:
    """A lazy ``Linear(?, 64)``, then ``LAYERS`` × (``Linear(64, 64)``, ReLU): modules 0, 1, 2, ..."""
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="sequential", class_name="Net")
    d = doc.definition("main")
    doc.set_param("main", d.inputs[0].id, "shape", [2, WIDTH])
    for e in list(d.edges):
        doc.disconnect("main", e)
    prev = d.inputs[0].id
    blocks = [("Linear", {"in_features": None, "out_features": WIDTH})]   # lazy: its input size is inferred
    blocks += [b for _ in range(LAYERS) for b in (("Linear", {"in_features": WIDTH, "out_features": WIDTH}),
                                                   ("ReLU", {}))]
    for kind, params in blocks:
        node = doc.add_node("main", kind, None, params)
        doc.connect("main", prev, "out", node.id, "in")
        prev = node.id
    doc.connect("main", prev, "out", d.outputs[0].id, "in")
    return doc.project


def initializers(n: int) -> list[dict]:
    """A realistic mix: whole network, by type, by module, single parameters, costly schemes."""
    out = []
    for i in range(n):
        k = str(1 + 2 * (i % LAYERS))   # an eager Linear
        out.append([
            {"scope": {}, "scheme": "normal", "args": {"std": 0.02}},
            {"scope": {"module_type": "Linear", "leaf": "weight"}, "scheme": "kaiming_uniform",
             "args": {"nonlinearity": "relu"}},
            {"scope": {"param": f"{k}.weight"}, "scheme": "xavier_normal"},
            {"scope": {"within": k}, "scheme": "uniform", "args": {"a": -0.1, "b": 0.1}},
            {"scope": {"param": f"{k}.bias"}, "scheme": "zeros"},
            {"scope": {"module_type": "Linear", "leaf": "bias"}, "scheme": "constant", "args": {"value": 0.01}},
            {"scope": {"param": f"{k}.weight"}, "scheme": "seed_custom"},
            {"scope": {"param": f"{k}.weight"}, "scheme": "pytorch_default"},
            {"scope": {"param": f"{k}.weight"}, "scheme": "orthogonal"},
            {"scope": {"within": k, "leaf": "weight"}, "scheme": "trunc_normal", "args": {"std": 0.02}},
        ][i % 10])
    return out


def edits(n: int) -> list[dict]:
    """Single elements set, whole tensors shifted, rows scaled, biases filled."""
    out = []
    for i in range(n):
        k = str(1 + 2 * (i % LAYERS))
        out.append([
            {"name": f"{k}.weight", "op": "set", "value": float(i), "index": [i % WIDTH, (i // WIDTH) % WIDTH]},
            {"name": f"{k}.weight", "op": "add", "value": 0.5},
            {"name": f"{k}.weight", "op": "mul", "value": 0.9, "index": [i % WIDTH]},
            {"name": f"{k}.bias", "op": "fill", "value": -1.0},
        ][i % 4])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--threads", type=int, help="torch threads (on a busy machine 1 is steadier)")
    opts = parser.parse_args()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    base = mlp_project()

    x = torch.rand(2, WIDTH)

    def compile_with(field: str, n: int) -> tuple[float, float]:
        project = Project.from_dict(base.to_dict())
        setattr(project, field, initializers(n) if field == "initializers" else edits(n))
        skipped: list[str] = []

        def build():
            skipped.clear()
            return compile_project(project, skipped=skipped)

        compiled = median_time(build, opts.repeats)
        with_forward = median_time(lambda: build()(x), opts.repeats)
        if skipped:
            raise SystemExit(f"unexpected skipped entries: {skipped[:3]}")
        return compiled, with_forward

    zero, zero_forward = compile_with("initializers", 0)
    print(f"Compile of an MLP-like project ({LAYERS + 1} Linear layers, one lazy) with recorded entries "
          f"(median of {opts.repeats}, {torch.get_num_threads()} torch threads)")
    print(f"  {'entries':<20} {'compile':>11} {'ratio':>8}   {'+ 1st forward':>13} {'ratio':>8}")
    print(f"  {'none':<20} {ms(zero):>11} {1:8.1f}   {ms(zero_forward):>13} {1:8.1f}")
    for field in ("initializers", "edits"):
        for n in opts.sizes:
            t, tf = compile_with(field, n)
            print(f"  {f'{n:,} {field}':<20} {ms(t):>11} {t / zero:8.1f}   {ms(tf):>13} {tf / zero_forward:8.1f}")


if __name__ == "__main__":
    main()
