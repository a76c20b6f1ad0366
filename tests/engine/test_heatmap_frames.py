"""Heatmap frames without Qt: what each mode shows or says, slices, the hover readout, and snapshots
taken under the session's lock from any thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from netstudio.errors import NetStudioError
from netstudio.tensors.frame_capture import LARGE_NUMEL, FrameCapturer, owned_copy
from netstudio.tensors.heatmap_frames import Frame, hover_text, make_frame, pixel_text


@dataclass(frozen=True)
class Ref:
    """A picked tensor, as the app's ``TensorRef`` is."""

    name: str
    source: str
    value: Callable[[], torch.Tensor | None]
    grad: Callable[[], torch.Tensor | None] | None = None

    @property
    def live(self) -> bool:
        return self.source == "network"


def live(tensor: torch.Tensor | None, name: str = "w") -> Ref:
    return Ref(name, "network", lambda: tensor, lambda: None if tensor is None else tensor.grad)


def in_file(tensor: torch.Tensor, name: str = "t") -> Ref:
    return Ref(name, "file.safetensors", lambda: tensor)


# ---------------------------------------------------------------- what each mode shows


def test_values_are_shown_as_they_are():
    w = torch.randn(3, 5)
    frame = make_frame(1, live(w), "weights", w, None, None, None)
    assert frame.message == "" and frame.tensor is w and frame.view.values.shape == (3, 5)
    assert (frame.shape, frame.dtype, frame.generation) == ((3, 5), "torch.float32", 1)


@pytest.mark.parametrize(("ref", "mode", "value", "says"), [
    (live(None), "weights", None, "is deferred"),
    (in_file(torch.ones(2)), "weights", None, "has no value"),
    (in_file(torch.ones(2)), "gradient", torch.ones(2), "Tensors in a file have no gradient"),
    (live(torch.ones(2)), "gradient", torch.ones(2), "No gradient yet"),
    (in_file(torch.ones(2)), "change", torch.ones(2), "Tensors in a file do not change"),
    (live(torch.ones(2)), "change", torch.ones(2), "No step yet"),
], ids=["deferred", "no-value", "file-gradient", "no-gradient", "file-change", "no-step"])
def test_nothing_to_draw_is_one_sentence(ref, mode, value, says):
    frame = make_frame(1, ref, mode, value, None, None, None)
    assert frame.view is None and frame.tensor is None and says in frame.message and frame.message.endswith(".")


def test_gradient_and_change_modes_show_what_they_say():
    w, g, before = torch.randn(4, 2), torch.randn(4, 2), torch.randn(4, 2)
    assert make_frame(1, live(w), "gradient", w, g, None, None).tensor is g
    change = make_frame(1, live(w), "change", w, None, before, None)
    assert torch.equal(change.tensor, w - before)
    steps = torch.tensor([3, 5]), torch.tensor([1, 9])   # integers change by float differences
    assert make_frame(1, live(steps[0]), "change", *steps[:1], None, steps[1], None).tensor.tolist() == [2.0, -4.0]
    reshaped = make_frame(1, live(w), "change", w, None, torch.randn(8), None)
    assert reshaped.view is None and "No step yet" in reshaped.message


def test_a_slice_that_no_longer_fits_falls_back_to_the_first():
    t = torch.arange(24.0).reshape(2, 3, 4)
    frame = make_frame(1, in_file(t), "weights", t, None, None, (5,))
    assert frame.slice_index is None and frame.view.slice_index == (0,)
    moved = frame.resliced(2, (1,))
    assert moved.generation == 2 and moved.view.values.tolist() == t[1].tolist()
    with pytest.raises(NetStudioError):
        frame.resliced(3, (2,))


def test_a_tensor_that_cannot_be_drawn_says_why():
    meta = torch.empty(2, 2, device="meta")
    frame = make_frame(1, in_file(meta), "weights", meta, None, None, None)
    assert frame.view is None and frame.tensor is None and "meta tensor" in frame.message


# ---------------------------------------------------------------- the hover readout


def test_hover_names_the_element_under_the_point_rows_down_columns_across():
    t = torch.arange(12.0).reshape(3, 4)
    frame = make_frame(1, in_file(t, "m"), "weights", t, None, None, None)
    assert hover_text(frame, 3.9, 1.2) == "m[1, 3] = 7.0"          # x is the column, y the row
    assert hover_text(frame, 4.0, 1.0) == "" and hover_text(frame, -0.1, 0) == "" and hover_text(None, 0, 0) == ""
    assert hover_text(frame, 0, 0) == "m[0, 0] = 0.0" and hover_text(frame, 0.5, 3.0) == ""   # edges: 3 rows
    assert hover_text(frame, 0.5, -0.1) == ""
    quick = Frame(1, frame.ref, "weights", None, frame.view, shape=(3, 4))
    assert hover_text(quick, 0, 0) == ""                           # no snapshot yet: nothing to read exactly


def test_hover_on_a_reduced_pixel_says_which_block_and_what_is_shown():
    t = torch.zeros(3000, 10, dtype=torch.float64)
    t[1001, 7] = -2.0
    frame = make_frame(1, in_file(t, "big"), "weights", t, None, None, None)
    assert frame.view.block == (3, 1)
    assert pixel_text(frame, 1001 // 3, 7) == ("big[1001, 7] = -2.0   (largest |value| of the 3×1 block at "
                                               "pixel 333, 7; shown -2)")


def test_hover_on_a_reduced_slice_of_a_three_d_tensor():
    t = torch.zeros(2, 2000, 3)
    t[1, 1999, 2] = 5.0
    frame = make_frame(1, in_file(t), "weights", t, None, None, (1,))
    assert frame.view.block == (2, 1)
    assert pixel_text(frame, 999, 2).startswith("t[1, 1999, 2] = 5.0")


# ---------------------------------------------------------------- snapshots


def test_a_capture_is_a_private_copy_and_a_step_makes_the_change():
    w = torch.ones(2, 3)
    capturer = FrameCapturer(threading.RLock())
    capturer.select(live(w), "change")
    assert "No step yet" in capturer.capture().message
    w.add_(0.5)
    capturer.mark(step=True)
    frame = capturer.capture()
    assert torch.equal(frame.tensor, torch.full((2, 3), 0.5))
    w.add_(1.0)                                         # a copy: training on does not change the frame
    assert torch.equal(frame.tensor, torch.full((2, 3), 0.5))
    assert not capturer.dirty and capturer.wait_ms(10_000) > 0 and capturer.wait_ms(0) == 0


def test_no_capture_while_a_run_holds_the_network_or_after_the_selection_moved():
    lock = threading.Lock()
    capturer = FrameCapturer(lock)
    assert capturer.capture() is None                   # nothing selected
    capturer.select(live(torch.ones(2)), "weights")
    with lock:
        assert capturer.capture() is None
    assert capturer.capture().view is not None
    file_ref = in_file(torch.ones(2))
    capturer.select(file_ref, "weights")
    with lock:                                          # a file's tensor needs no lock
        assert capturer.capture().tensor is not None
    moved = []
    capturer.select(Ref("w", "network", lambda: moved.append(capturer.select(None, "weights")) or torch.ones(2)),
                    "weights")
    assert capturer.capture() is None and moved        # selection changed while reading: the frame is dropped


def test_a_quick_capture_of_a_huge_live_tensor_draws_without_copying():
    w = torch.zeros(LARGE_NUMEL + 1)
    w[7] = 3.0
    capturer = FrameCapturer(threading.RLock())
    capturer.select(live(w), "weights")
    quick = capturer.capture(quick=True)
    assert quick.tensor is None and quick.shape == (LARGE_NUMEL + 1,) and quick.dtype == "torch.float32"
    assert quick.view.values.max() == 3.0 and capturer.current is None
    assert capturer.capture().tensor is not None        # the snapshot follows


def test_a_tensor_that_cannot_be_read_is_one_sentence():
    def broken():
        raise RuntimeError("storage gone")
    capturer = FrameCapturer(threading.RLock())
    capturer.select(Ref("w", "network", broken), "weights")
    assert capturer.capture().message == "'w' cannot be read: storage gone."
    assert capturer.session_lock.acquire(blocking=False)   # released again


def test_owned_copies():
    w = torch.ones(2, requires_grad=True)
    assert owned_copy(None, True) is None
    copy = owned_copy(w, True)
    assert not copy.requires_grad and copy.data_ptr() != w.data_ptr()
    assert owned_copy(w, False).data_ptr() == w.data_ptr()


def test_each_change_of_selection_mode_or_slice_is_a_new_generation():
    capturer = FrameCapturer(threading.RLock())
    assert capturer.current_generation() == 0 and not capturer.dirty      # nothing chosen, nothing pending
    t = torch.arange(24.0).reshape(2, 3, 4)
    assert capturer.select(in_file(t), "weights") == 1
    frame = capturer.capture()
    capturer.set_mode("weights")
    assert capturer.current_generation() == 2 != frame.generation        # a frame of the old mode is stale
    assert capturer.set_slice((1,)) == 3 and capturer.current_generation() == 3
    resliced = capturer.capture()
    assert resliced.generation == 3 and resliced.view.values.tolist() == t[1].tolist()
    assert capturer.select(None, "weights") == 4


def test_a_new_selection_forgets_the_old_snapshots_and_pending_steps():
    w = torch.ones(2)
    capturer = FrameCapturer(threading.RLock())
    capturer.select(live(w), "change")
    capturer.capture()
    w.add_(1.0)
    capturer.mark(step=True)
    assert torch.equal(capturer.capture().tensor, torch.ones(2))
    capturer.mark(step=True)
    capturer.select(live(w), "change")                  # the same tensor picked again: no step seen yet
    assert not capturer.dirty
    assert "No step yet" in capturer.capture().message


def test_captures_are_throttled_by_the_time_since_the_last(monkeypatch):
    import netstudio.tensors.frame_capture as frame_capture
    clock = [100.0]
    monkeypatch.setattr(frame_capture, "time", type("Clock", (), {"monotonic": staticmethod(lambda: clock[0])}))
    capturer = FrameCapturer(threading.RLock())
    capturer.select(in_file(torch.ones(2)), "weights")
    capturer.capture()
    clock[0] = 102.0
    assert capturer.wait_ms(10_000) == 8000 and capturer.wait_ms(2000) == 0 and capturer.wait_ms(1000) == 0


def test_a_quick_capture_copies_a_tensor_of_exactly_the_large_size():
    w = torch.zeros(LARGE_NUMEL)
    capturer = FrameCapturer(threading.RLock())
    capturer.select(live(w), "weights")
    frame = capturer.capture(quick=True)
    assert frame.tensor is not None and frame.tensor.data_ptr() != w.data_ptr()


def test_a_tensor_that_cannot_be_read_says_our_own_sentence():
    def refused():
        raise NetStudioError("This tensor is a meta tensor: it has a shape and dtype but no values.")
    capturer = FrameCapturer(threading.RLock())
    capturer.select(Ref("w", "file.pt", refused), "weights")
    frame = capturer.capture()
    assert frame.message == "This tensor is a meta tensor: it has a shape and dtype but no values."
    assert frame.view is None and frame.tensor is None
