"""The Qt binding keeps Python's reference counts straight.

PySide6 6.12.0 on CPython 3.11 drops a reference to ``None`` on every void
method call and to ``True`` on every signal emission, so the interpreter
aborts after a few thousand of them; pyproject.toml excludes it there.  This
test fails loudly (instead of a crash minutes into a session) if such a build
comes back.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    ping = Signal()


def test_void_calls_and_emits_keep_singleton_refcounts(qapp):
    probe = _Probe()
    before = {repr(o): sys.getrefcount(o) for o in (None, True, False)}
    for _ in range(200):
        probe.setObjectName("probe")
        probe.ping.emit()
    after = {repr(o): sys.getrefcount(o) for o in (None, True, False)}
    assert all(after[k] >= before[k] - 2 for k in before), (before, after)
