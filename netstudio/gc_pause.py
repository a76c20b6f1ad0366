"""Python's cycle collector paused while thousands of objects are made and few are freed.

Building or checking 10,000 blocks, or drawing them, keeps some 100,000 new objects
and makes no reference cycles.  Left on, the cycle collector runs many full passes
meanwhile, each walking the whole heap (torch, Qt...) again: the work then grew faster
than the graph (a scene of 10,000 blocks took 17 times as long as one of 1,000, not 10).
Reference counting still frees everything as usual.  Another thread pausing it too only
makes the pause shorter.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
