"""The one relay from engine events to Qt: which thread a slot runs on, bursts, and teardown."""

from __future__ import annotations

import threading

import shiboken6
from psygnal import Signal, SignalGroup
from PySide6.QtCore import QObject

from ui.document.relay import listen, to_gui


class Events(SignalGroup):
    changed = Signal(object)


def emit_from_worker(signal, values) -> None:
    worker = threading.Thread(target=lambda: [signal.emit(v) for v in values])
    worker.start()
    worker.join()


def test_an_event_from_the_same_thread_arrives_at_once(qtbot):
    events, owner, got = Events(), QObject(), []
    listen(owner, events.changed, got.append)
    events.changed.emit(1)
    assert got == [1]          # before emit returned: an edit updates its views synchronously


def test_an_event_from_a_worker_arrives_on_the_owners_thread(qtbot):
    events, owner, threads = Events(), QObject(), []
    listen(owner, events.changed, lambda value: threads.append((value, threading.get_ident())))
    emit_from_worker(events.changed, [7])
    assert threads == []       # not on the worker
    qtbot.waitUntil(lambda: threads == [(7, threading.get_ident())])


def test_direct_runs_on_the_emitting_thread(qtbot):
    events, owner, threads = Events(), QObject(), []
    listen(owner, events.changed, lambda value: threads.append(threading.get_ident()), direct=True)
    emit_from_worker(events.changed, [1])
    assert len(threads) == 1 and threads[0] != threading.get_ident()


def test_a_burst_is_coalesced_into_few_calls(qtbot):
    events, owner, got = Events(), QObject(), []
    listen(owner, events.changed, got.append, coalesce_ms=50)
    emit_from_worker(events.changed, [1] * 200)
    qtbot.waitUntil(lambda: got == [1])
    emit_from_worker(events.changed, [1, 2, 3])
    qtbot.waitUntil(lambda: len(got) == 2)
    assert got[1] is None      # different values in one burst: "anything may have changed"


def test_a_destroyed_owner_is_never_called_and_disconnected(qtbot):
    events, owner, got = Events(), QObject(), []
    listen(owner, events.changed, got.append)
    listen(owner, events.changed, got.append, direct=True)
    assert len(events.changed) == 2
    emit_from_worker(events.changed, [0])   # the direct slot runs on the worker; the other call waits in the queue
    assert got == [0]
    shiboken6.delete(owner)
    assert len(events.changed) == 0
    # A listener made afterwards: once its calls have arrived, any call still due to the owner would have too.
    witness, heard = QObject(), []
    listen(witness, events.changed, heard.append)
    events.changed.emit(1)
    emit_from_worker(events.changed, [2])
    qtbot.waitUntil(lambda: heard == [1, 2])
    assert got == [0]


def test_disconnect_ends_one_connection(qtbot):
    events, owner, got = Events(), QObject(), []
    first = listen(owner, events.changed, lambda v: got.append(("first", v)))
    listen(owner, events.changed, lambda v: got.append(("second", v)))
    first.disconnect()
    first.disconnect()         # twice is harmless
    events.changed.emit(1)
    assert got == [("second", 1)]


def test_to_gui_delivers_a_workers_callback_here(qtbot):
    owner, got = QObject(), []
    deliver = to_gui(owner, lambda *args: got.append((args, threading.get_ident())))
    worker = threading.Thread(target=deliver, args=(3, "x"))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: got == [((3, "x"), threading.get_ident())])


def test_a_coalesced_listener_waits_even_on_its_own_thread(qtbot):
    events, owner, got = Events(), QObject(), []
    listen(owner, events.changed, got.append, coalesce_ms=20)
    events.changed.emit(1)
    events.changed.emit(1)
    assert got == []                      # not at once, even from the owner's thread
    qtbot.waitUntil(lambda: got == [1])
    qtbot.wait(60)
    assert got == [1]                     # one burst, one call


def test_a_listener_whose_owner_is_gone_is_never_called(qtbot):
    events, owner, got = Events(), QObject(), []
    connection = listen(owner, events.changed, got.append, direct=True)
    events.changed.emit(1)
    shiboken6.delete(owner)
    events.changed.emit(2)
    assert got == [1]
    connection.disconnect()


def test_an_owner_deleted_by_an_earlier_listener_of_the_same_event_is_not_called(qtbot):
    """A view closed in reaction to an event must not hear that same event: the emission is already under way."""
    events, closer, view, got = Events(), QObject(), QObject(), []
    listen(closer, events.changed, lambda value: shiboken6.delete(view))
    listen(view, events.changed, got.append)
    events.changed.emit(1)
    assert got == [] and not shiboken6.isValid(view)
    assert len(events.changed) == 1       # only the closer's connection is left
