"""The GB/T 28181 access platform's families (``families.GB28181_FAMILIES``) as a view of its
counters: :class:`Gb28181Collector` reads a frozen :class:`~collector.gb28181.counters.PlatformCounts`
(no I/O in ``collect()``). ``camwatch run`` hands it to :class:`~collector.metrics.registry.CamwatchCollector`
(``more``) when ``gb28181.enabled``, so ``/metrics`` writes these families after camwatch's own. A
process where the platform does not run (a replica that does not lead) writes their ``# HELP`` and
``# TYPE`` lines and no sample. Label values come from fixed sets (kind, reason, query)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.gb28181.counters import PlatformCounts
from collector.metrics import families as f


class Gb28181Collector(Collector):
    def __init__(self, counts: Callable[[], PlatformCounts | None]) -> None:
        self.counts = counts  # None: no platform in this process now

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        regs, auth, blocked, refused, keepalives, queries, registered = (
            CounterMetricFamily(fam.name, fam.help, labels=fam.labels) if fam.kind is f.Kind.COUNTER
            else GaugeMetricFamily(fam.name, fam.help, labels=fam.labels) for fam in f.GB28181_FAMILIES)
        c = self.counts()
        if c is not None:
            for kind, n in c.registrations:
                regs.add_metric([kind.value], float(n))
            auth.add_metric([], float(c.auth_failures))
            blocked.add_metric([], float(c.blocked_addresses))
            for reason, n in c.refused:
                refused.add_metric([reason.value], float(n))
            keepalives.add_metric([], float(c.keepalives))
            for query, n in c.queries:
                queries.add_metric([query.value], float(n))
            registered.add_metric([], float(c.registered_devices))
        yield from (regs, auth, blocked, refused, keepalives, queries, registered)
