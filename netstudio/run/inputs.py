"""Sample inputs for a network: random, constant, or one tensor read from a file."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import torch

from netstudio.devices import resolve_device
from netstudio.errors import RunError

InputKind = Literal["uniform", "normal", "ones", "file"]
TensorLoader = Callable[[str | os.PathLike], torch.Tensor]


def load_one_tensor(path: str | os.PathLike) -> torch.Tensor:
    """The single tensor in a file, read with the project's safe loader."""
    from netstudio.files.tensor_io import load_tensors  # on use: running needs no file layer at import


    loaded = load_tensors(path)
    if isinstance(loaded, Mapping):
        loaded = list(loaded.values())
    if isinstance(loaded, (list, tuple)) and len(loaded) == 1:
        loaded = loaded[0]
    if not isinstance(loaded, torch.Tensor):
        raise RunError(f"'{os.fspath(path)}' does not hold exactly one tensor, so it cannot be an input.")
    return loaded


def _check_shape(shape: Sequence[int]) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape
    ):
        raise RunError(f"An input shape must be a list of whole numbers of at least 1, not {shape!r}.")
    return tuple(shape)


def make_input(
    shape: Sequence[int] | None,
    kind: InputKind = "uniform",
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    generator: torch.Generator | None = None,
    path: str | os.PathLike | None = None,
    loader: TensorLoader = load_one_tensor,
) -> torch.Tensor:
    """A sample input; for ``file`` the shape may be None, otherwise the file must match it."""
    if kind not in ("uniform", "normal", "ones", "file"):
        raise RunError(f"Unknown input kind '{kind}'; use uniform, normal, ones or file.")
    dev = resolve_device(device)
    if kind == "file":
        if path is None:
            raise RunError("Choose a file to read the input from.")
        tensor = loader(path)
        if shape is not None and tuple(tensor.shape) != _check_shape(shape):
            raise RunError(
                f"The tensor in '{os.fspath(path)}' has shape {tuple(tensor.shape)}, not {tuple(shape)}."
            )
        return tensor.to(device=dev, dtype=dtype)
    if shape is None:
        raise RunError(f"A {kind} input needs a shape.")
    size = _check_shape(shape)
    if kind == "ones":
        return torch.ones(size, dtype=dtype, device=dev)
    if not dtype.is_floating_point:
        raise RunError(f"Random {kind} inputs need a floating-point type, not {str(dtype).removeprefix('torch.')}.")
    # Draw where the generator lives, then move: the same seed gives the same input on any device.
    draw = torch.rand if kind == "uniform" else torch.randn
    source = generator.device if generator is not None else torch.device("cpu")
    return draw(size, generator=generator, dtype=dtype, device=source).to(dev)
