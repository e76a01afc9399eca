"""The cyclic garbage collector's setting for a run of the tool: one place, at the edge.

Reading a manifest and planning allocate hundreds of thousands of small, acyclic objects
(a 10,000-key plan). With CPython's default threshold (a young-generation pass every 700
allocations) the collector's repeated passes over them, and over the older generations they
are promoted into, took as long as the work itself: validating 10,000 keys measured 2.2 s
of CPU with the default and 1.2 s with the threshold below (benchmarks/validate_10k.py).
Reference counting frees nearly all of this memory anyway; the collector is only for cycles,
which these objects do not form.

So the process that runs a command raises the threshold once (`cli/main.py`), and the
core (manifest, planner) holds no collector code at all. Collection is not switched off:
a long `emulator` process or a long apply still collects its cycles, only less often.
Benchmarks that call the library directly call `tune_collector` as the CLI does.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "tune_collector"]

# Allocations between young-generation passes. At 100,000 a 10,000-key run makes a few dozen
# passes instead of thousands; the memory it can hold in uncollected cycles is bounded by
# the same number of container objects (a few MB).
YOUNG_THRESHOLD = 100_000


def tune_collector() -> None:
    """Raise the young generation's threshold for this process (idempotent)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
