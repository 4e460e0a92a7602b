"""Entry point of a fleet worker process: ``python -m probes.sim._worker_main FD``.

FD is one end of a socket pair; the parent first sends a :class:`WorkerSpec` over it, then
commands. Kept apart from :mod:`probes.sim.worker` so ``-m`` does not import it twice.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from probes.sim.worker import WorkerSpec, worker_main


def main(argv: list[str]) -> int:
    conn = Connection(int(argv[1]))
    spec = conn.recv()
    if not isinstance(spec, WorkerSpec):
        return 2
    worker_main(spec, conn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
