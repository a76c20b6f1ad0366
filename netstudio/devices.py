"""Devices: what is available, moving a network and its input, and explaining mismatches.

``try_gpu`` and ``try_all_gpus`` keep the seed's semantics so code written
against the book behaves the same: fall back to the CPU when a GPU is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from netstudio.errors import DeviceError

Inputs = torch.Tensor | Sequence[torch.Tensor]

_MISMATCH_MARKERS = (
    "Expected all tensors to be on the same device",
    "is not on the expected device",
    "should be the same or input should be a MKLDNN tensor",
    "to have the same device as tensor",
)


@dataclass(frozen=True)
class DeviceInfo:
    """One device; ``total_memory`` (bytes) is known for CUDA devices only."""

    name: str
    kind: str
    description: str
    total_memory: int | None = None


def _cuda_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def list_devices() -> list[DeviceInfo]:
    """The CPU, every CUDA device, and Apple's MPS device when present."""
    devices = [DeviceInfo("cpu", "cpu", "CPU")]
    for i in range(_cuda_count()):
        props = torch.cuda.get_device_properties(i)
        devices.append(DeviceInfo(f"cuda:{i}", "cuda", props.name, props.total_memory))
    if torch.backends.mps.is_available():
        devices.append(DeviceInfo("mps", "mps", "Apple GPU (MPS)"))
    return devices


def try_gpu(i: int = 0) -> torch.device:
    """``cuda:i`` if it exists, otherwise the CPU."""
    return torch.device(f"cuda:{i}") if _cuda_count() >= i + 1 else torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    """Every CUDA device, or ``[cpu]`` when there is none."""
    return [torch.device(f"cuda:{i}") for i in range(_cuda_count())] or [torch.device("cpu")]


def resolve_device(device: str | torch.device) -> torch.device:
    """Parse a device name and check that this machine has it."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(f"'{device}' is not a device name; use cpu, cuda:0 or mps.") from exc
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        index = 0 if dev.index is None else dev.index
        if index >= _cuda_count():
            raise DeviceError(f"Device '{device}' is not available; this machine has {_cuda_count()} CUDA GPU(s).")
        return torch.device("cuda", index)
    if dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError("Device 'mps' is not available on this machine.")
        return dev
    raise DeviceError(f"Device type '{dev.type}' is not supported; use cpu, cuda or mps.")


def _move_inputs(inputs: Inputs, device: torch.device) -> Inputs:
    if isinstance(inputs, torch.Tensor):
        return inputs.to(device)
    return type(inputs)(t.to(device) for t in inputs)


def move_to(
    module: nn.Module, device: str | torch.device, inputs: Inputs | None = None
) -> tuple[nn.Module, Inputs | None]:
    """Move a network (in place) and its sample input to ``device``."""
    dev = resolve_device(device)
    try:
        module.to(dev)
        moved = None if inputs is None else _move_inputs(inputs, dev)
    except RuntimeError as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".!")
        raise DeviceError(f"Moving the network to {dev} failed: {reason}.") from exc
    return module, moved


def _input_devices(inputs: Inputs) -> list[str]:
    tensors = [inputs] if isinstance(inputs, torch.Tensor) else [t for t in inputs if isinstance(t, torch.Tensor)]
    return list(dict.fromkeys(str(t.device) for t in tensors))


def _weight_devices(module: nn.Module) -> list[tuple[str, str]]:
    """``(module name, device)`` for every module holding tensors, in order."""
    found = []
    for name, sub in module.named_modules():
        devices = {str(t.device) for t in (*sub._parameters.values(), *sub._buffers.values()) if t is not None}
        found += [(name, device) for device in sorted(devices)]
    return found


def _where(name: str) -> str:
    return f"the weights of '{name}'" if name else "the network's own weights"


def explain_device_error(exc: BaseException, module: nn.Module, inputs: Inputs) -> str | None:
    """One sentence for a device-mismatch error, or None when ``exc`` is something else."""
    if not isinstance(exc, RuntimeError) or not any(m in str(exc) for m in _MISMATCH_MARKERS):
        return None
    input_devices = _input_devices(inputs)
    weights = _weight_devices(module)
    if len(input_devices) > 1:
        return f"The inputs are on several devices ({', '.join(input_devices)}); move them to one device."
    if input_devices:
        for name, device in weights:
            if device != input_devices[0]:
                return (
                    f"The input is on {input_devices[0]} but {_where(name)} are on {device}; "
                    "move both to the same device."
                )
    weight_devices = list(dict.fromkeys(device for _, device in weights))
    if len(weight_devices) > 1:
        first = next(name for name, device in weights if device == weight_devices[0])
        other = next(name for name, device in weights if device == weight_devices[1])
        return (
            f"The network mixes devices: {_where(first)} are on {weight_devices[0]} and {_where(other)} "
            f"are on {weight_devices[1]}; move the whole network to one device."
        )
    return "Tensors on different devices met in the forward pass; move the network and its input to the same device."


def replication_devices() -> list[torch.device]:
    """The GPUs a network would be replicated over: all of them when there are two or more."""
    gpus = try_all_gpus()
    return gpus if len(gpus) > 1 else []


def replicate_for_all_gpus(module: nn.Module) -> nn.Module:
    """Wrap in ``nn.DataParallel`` over every GPU (the seed's MirroredStrategy), or return ``module`` as is."""
    devices = replication_devices()
    if not devices:
        return module
    return nn.DataParallel(module.to(devices[0]), device_ids=[d.index for d in devices])
