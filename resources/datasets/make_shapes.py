"""Draw the small shapes dataset that ships with NetStudio: ``python resources/datasets/make_shapes.py``.

28×28 grayscale images of squares, circles, triangles and crosses (random
position, size and brightness, a little noise), in a safetensors file with
``x`` (N×1×28×28) and ``y`` (N, int64: 0 square, 1 circle, 2 triangle,
3 cross), as ``netstudio train --data`` and the Run panel read it.  The same
seed always draws the same file.  The drawing itself is
:mod:`netstudio.run.shapes_dataset`; this is its command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:   # run from a clean clone without installing the package
    sys.path.insert(0, str(ROOT))

from netstudio.errors import NetStudioError  # noqa: E402
from netstudio.run.shapes_dataset import (  # noqa: E402
    BUNDLED_SAMPLES, BUNDLED_SEED, BUNDLED_SHAPES, CLASSES, FILE_DTYPES, SIZE, write_shapes)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", default=str(BUNDLED_SHAPES), help=f"where to write (default {BUNDLED_SHAPES})")
    p.add_argument("--samples", type=int, default=BUNDLED_SAMPLES, help=f"how many images (default {BUNDLED_SAMPLES})")
    p.add_argument("--seed", type=int, default=BUNDLED_SEED, help=f"the random seed (default {BUNDLED_SEED})")
    p.add_argument("--size", type=int, default=SIZE, help=f"image width and height (default {SIZE})")
    p.add_argument("--noise", type=float, default=0.1, help="standard deviation of the noise (default 0.1)")
    p.add_argument("--dtype", choices=sorted(FILE_DTYPES), default="float16",
                   help="how x is stored (default float16: half the size; the trainers read either)")
    args = p.parse_args(argv)
    try:
        path = write_shapes(args.out, args.samples, args.seed, args.size, args.noise, args.dtype)
    except NetStudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}: {args.samples} images of {', '.join(CLASSES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
