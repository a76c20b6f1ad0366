"""Snapshots of the tensor the heatmap shows, safe to take from any thread.

A frame starts from a private copy of the tensor (a *snapshot*), taken while
holding the session's lock; picture, hover readout and statistics all read
that copy, so they agree with each other and never race a run.  The lock is
only ever *tried* (``acquire(blocking=False)``): when a run holds it,
:meth:`FrameCapturer.capture` returns None and the caller looks again later,
so the window never waits for a run.  Runs report their steps from their own
thread, often while holding the lock; capturing right there, in that thread,
lets the picture follow training live.

"Change" is the difference between the snapshot taken after the latest step
(:meth:`FrameCapturer.mark` with ``step``) and the one before it; captures are
throttled by the caller, so during fast training one "step" may span several
optimizer steps.

A quick capture of a live tensor of over ``LARGE_NUMEL`` elements reduces the
live tensor under the lock and copies nothing: the picture comes at once, and
the snapshot (for hover and statistics) follows with the next capture.
"""

from __future__ import annotations

import math
import threading
import time

import torch

from netstudio.errors import NetStudioError
from netstudio.tensors.heatmap_frames import Frame, TensorSource, make_frame

LARGE_NUMEL = 1 << 20   # live tensors above this show their picture before their snapshot


class FrameCapturer:
    """The selection (tensor, mode, slice) and its latest snapshots; every method may be called from
    any thread.  ``lock`` is the session's: it guards the live network."""

    def __init__(self, lock):
        self.session_lock = lock
        self.lock = threading.Lock()   # guards every field below
        self.ref: TensorSource | None = None
        self.mode = "weights"
        self.slice_index: tuple[int, ...] | None = None
        self.generation = 0            # counts selections, so a frame of an older one is dropped
        self.current: torch.Tensor | None = None   # the latest snapshot of the value
        self.previous: torch.Tensor | None = None  # the one before the latest step
        self.dirty = False             # the tensor may have changed since the last capture
        self.step_pending = False
        self.last_capture = 0.0        # time.monotonic() of the last capture

    def select(self, ref: TensorSource | None, mode: str) -> int:
        """Show ``ref`` in ``mode`` from now on; returns the new generation."""
        with self.lock:
            self.generation += 1
            self.ref, self.mode, self.slice_index = ref, mode, None
            self.current = self.previous = None
            self.dirty = self.step_pending = False
            return self.generation

    def set_mode(self, mode: str) -> None:
        with self.lock:
            self.generation += 1
            self.mode = mode

    def set_slice(self, slice_index: tuple[int, ...] | None) -> int:
        """Show other leading indices from now on; returns the new generation."""
        with self.lock:
            self.generation += 1
            self.slice_index = slice_index
            return self.generation

    def current_generation(self) -> int:
        with self.lock:
            return self.generation

    def mark(self, step: bool) -> None:
        """The tensor may have changed; ``step``: by an optimizer step (for "change")."""
        with self.lock:
            self.dirty = True
            self.step_pending |= step

    def wait_ms(self, interval_ms: float) -> int:
        """Milliseconds until ``interval_ms`` have passed since the last capture (0: now)."""
        waited = (time.monotonic() - self.last_capture) * 1000
        return max(0, math.ceil(interval_ms - waited))

    def capture(self, quick: bool = False) -> Frame | None:
        """Read the selected tensor now; None when a run holds the network (try again later), nothing is
        selected, or the selection moved on meanwhile.  Consumes a pending step: the old snapshot becomes
        ``previous``.  ``quick``: see the module docstring; such a frame has ``tensor`` None."""
        with self.lock:
            ref, mode, generation, slice_index = self.ref, self.mode, self.generation, self.slice_index
            step = self.step_pending
        if ref is None:
            return None
        lock = self.session_lock if ref.live else None
        if lock is not None and not lock.acquire(blocking=False):
            return None
        message = ""
        value = grad = None
        try:
            raw = ref.value()
            if quick and ref.live and mode == "weights" and raw is not None and raw.numel() > LARGE_NUMEL:
                frame = make_frame(generation, ref, mode, raw.detach(), None, None, slice_index)
                return Frame(frame.generation, ref, mode, None, frame.view, frame.message, frame.slice_index,
                             tuple(raw.shape), str(raw.dtype))
            value = owned_copy(raw, ref.live)
            if mode == "gradient" and ref.grad is not None:
                grad = owned_copy(ref.grad(), ref.live)
        except NetStudioError as err:
            message = str(err)
        except Exception as err:  # a tensor that cannot be read must not take the heatmap down
            message = f"'{ref.name}' cannot be read: {err}."
        finally:
            if lock is not None:
                lock.release()
        with self.lock:
            if generation != self.generation:
                return None
            if step and self.current is not None and value is not None:
                self.previous = self.current
            if value is not None:
                self.current = value
            previous = self.previous
            self.dirty = self.step_pending = False
            self.last_capture = time.monotonic()
        return make_frame(generation, ref, mode, value, grad, previous, slice_index, message)


def owned_copy(tensor: torch.Tensor | None, live: bool) -> torch.Tensor | None:
    """A copy nobody else writes to (live tensors change under training); files' tensors are ours already."""
    if tensor is None:
        return None
    tensor = tensor.detach()
    return tensor.clone() if live else tensor
