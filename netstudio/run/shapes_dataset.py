"""A small image dataset drawn procedurally, so a convolutional network trains at once, with no download.

Each sample is one filled shape (a square, a circle, a triangle or a cross)
on a dark ``size``×``size`` grayscale image, with a random position, size and
brightness and a little Gaussian noise; values are in [0, 1].  The classes
take turns and are then shuffled, so they are balanced, and the same seed
always draws the same images.  Each shape is drawn from its signed distance
``d`` (negative inside) as ``clamp(0.5 - d, 0, 1)``: edges are anti-aliased
and a shape keeps its class at any size.

``write_shapes`` saves ``x`` (N×1×size×size) and ``y`` (N, int64) as the
safetensors file ``netstudio train`` and the Run panel read.  The copy that
ships with the app (``BUNDLED_SHAPES``) is made by ``resources/datasets/make_shapes.py``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from netstudio.errors import RunError

CLASSES = ("square", "circle", "triangle", "cross")
SIZE = 28
BUNDLED_SAMPLES = 1200     # 300 of each class: 1.9 MB as float16 (see resources/datasets/README.md)
BUNDLED_SEED = 0
BUNDLED_SHAPES = Path(__file__).resolve().parents[2] / "resources" / "datasets" / "shapes.safetensors"
FILE_DTYPES = {"float16": torch.float16, "float32": torch.float32}


def _square(dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return torch.maximum(dx.abs(), dy.abs()) - r


def _circle(dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(dx * dx + dy * dy) - r * 1.1   # a circle as wide as the square looks smaller: a little more


def _triangle(dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """An upright equilateral triangle around the centre: the largest of its three edges' signed distances."""
    s = math.sqrt(3.0) / 2.0
    base = dy - r * 0.8                   # the bottom edge (y grows downwards)
    left = -s * dx - 0.5 * dy - r * 0.8   # the two slanted edges, normals pointing out and up
    right = s * dx - 0.5 * dy - r * 0.8
    return torch.maximum(base, torch.maximum(left, right))


def _cross(dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    bar = r * 0.35
    across = torch.maximum(dx.abs() - r, dy.abs() - bar)
    down = torch.maximum(dx.abs() - bar, dy.abs() - r)
    return torch.minimum(across, down)


DISTANCES = (_square, _circle, _triangle, _cross)


def _check(n: int, size: int, noise: float) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise RunError(f"The number of samples must be a whole number of at least 1, not {n!r}.")
    if isinstance(size, bool) or not isinstance(size, int) or not 12 <= size <= 512:
        raise RunError(f"The image size must be a whole number from 12 to 512, not {size!r}.")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and 0 <= noise <= 1):
        raise RunError(f"The noise must be a number from 0 to 1, not {noise!r}.")


def make_shapes(n: int = BUNDLED_SAMPLES, seed: int = BUNDLED_SEED, size: int = SIZE,
                noise: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)``: ``n`` images ``(n, 1, size, size)`` float32 in [0, 1] and their classes ``(n,)`` int64,
    an index into :data:`CLASSES`."""
    _check(n, size, noise)
    g = torch.Generator().manual_seed(seed)
    labels = (torch.arange(n) % len(CLASSES))[torch.randperm(n, generator=g)]
    radius = size * (0.16 + 0.14 * torch.rand(n, generator=g))          # half the shape's width
    margin = radius * 1.15 + 1.0
    cx = margin + (size - 1 - 2 * margin) * torch.rand(n, generator=g)   # the whole shape stays inside
    cy = margin + (size - 1 - 2 * margin) * torch.rand(n, generator=g)
    brightness = 0.6 + 0.4 * torch.rand(n, generator=g)
    grain = noise * torch.randn(n, size, size, generator=g)
    coords = torch.arange(size, dtype=torch.float32)
    dx = coords.view(1, 1, size) - cx.view(n, 1, 1)
    dy = coords.view(1, size, 1) - cy.view(n, 1, 1)
    r = radius.view(n, 1, 1)
    distance = torch.empty(n, size, size)
    for k, shape in enumerate(DISTANCES):
        mine = labels == k
        distance[mine] = shape(dx[mine].expand(-1, size, size), dy[mine].expand(-1, size, size), r[mine])
    ink = (0.5 - distance).clamp(0.0, 1.0) * brightness.view(n, 1, 1)
    x = (ink + grain).clamp(0.0, 1.0)
    return x.unsqueeze(1).contiguous(), labels.to(torch.int64)


def write_shapes(path: str | os.PathLike, n: int = BUNDLED_SAMPLES, seed: int = BUNDLED_SEED, size: int = SIZE,
                 noise: float = 0.1, dtype: str = "float16") -> Path:
    """Draw the dataset and save it as safetensors (``x`` in ``dtype``, ``y`` int64), atomically; its path."""
    from netstudio.files.tensor_io import save_tensors   # on use: drawing needs no file layer

    if dtype not in FILE_DTYPES:
        raise RunError(f"The images are stored as float16 or float32, not {dtype!r}.")
    x, y = make_shapes(n, seed, size, noise)
    path = Path(path)
    save_tensors({"x": x.to(FILE_DTYPES[dtype]), "y": y}, path)
    return path
