"""Pausing Python's cyclic garbage collector around work that builds many acyclic objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees memory).

    Reading a manifest and planning both allocate hundreds of thousands of small, acyclic
    objects; at 10,000 keys the collector's repeated passes over them (and over the older
    generations) took as long as the work itself. Nested pauses are fine: only the
    outermost resumes, and makes the one young-generation pass the surviving objects need
    (so that the work pays for what it keeps, rather than whatever allocates next).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(0)
