"""The garbage collector's settings for a long-running service process.

CPython collects its youngest generation every 700 net allocations of container objects by
default. A fetch of 500 commands allocates hundreds of thousands of short-lived objects
(rows, records, events, email parts), and most of them are still alive at a collection,
so they are walked again in the older generations, and a full collection walks everything
the process holds: the imported modules, SQLAlchemy's and pydantic's compiled structures,
the caches (about 0.1 s each here).

``settle_heap`` is called once a process is built and about to work: ``gc.freeze()`` moves
what start-up built (which lives as long as the process) out of the collector's sight, as
the standard library's documentation suggests, and the youngest generation is collected
every ``young_threshold`` allocations instead of 700. The collector still runs and still
frees reference cycles, less often and over fewer objects. Measured (docs/performance.md,
"Eighth pass"): the freeze makes full collections cheap (collector time of the in-process
command path 2.1 s → 0.6-0.75 s over 20,000 commands); end to end it is the threshold that
counts, service CPU per command at saturation 708-779 µs against 843-869 µs (the freeze
with the threshold at 700 did not move it). The cost is memory that plateaus about 30 MiB
higher (RSS 345 MiB after 122,000 commands, 351 MiB after 271,000).
"""

from __future__ import annotations

import gc

OLDER_THRESHOLDS = (10, 10)
"""Python's defaults for the two older generations (collections of the younger one)."""


def settle_heap(young_threshold: int) -> None:
    """Collect, freeze what is still alive, and collect the youngest generation every
    ``young_threshold`` allocations (objects; 0 keeps Python's threshold). Call once per
    process, after start-up.

    The first collection frees start-up's garbage, which would otherwise stay frozen for good.
    The one after the freeze sizes the oldest generation anew: the collector makes a full
    collection only once what reached that generation since the last one is a quarter of
    what it held then, which would otherwise still be the whole start-up heap."""
    gc.collect()
    gc.freeze()
    gc.collect()
    if young_threshold > 0:
        gc.set_threshold(young_threshold, *OLDER_THRESHOLDS)
