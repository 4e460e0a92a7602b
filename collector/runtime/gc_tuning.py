"""The cyclic GC tuned for a long-running prober (called once the inventory is loaded)."""

from __future__ import annotations

import gc

GC_THRESHOLDS = (200_000, 20, 100)


def settle_gc() -> None:
    """Tune the cyclic GC for a long-running prober, once its inventory is loaded.

    The inventory's objects live as long as the process: ``gc.freeze()`` keeps collections from
    scanning them (it made /metrics renders of 100k cameras vary 0.9-2 s). Every probe makes a few
    hundred short-lived objects, almost none in cycles, and a probe in flight holds ~40 of them: a
    young generation of 200,000 instead of 700 is not reached by the 2,000 probes in flight of a
    collector catching up. (At 50,000 it was: 43 collections in one minute took 3.5 s, 7 % of the
    CPU, and held probes back by up to 5 s at 100k cameras; a calm minute has none.)
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
