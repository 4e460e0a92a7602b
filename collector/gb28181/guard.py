"""Wrong passwords rate-limited per source address: a token bucket of ``failures`` tries that
refills one try every ``block_s / failures`` seconds. An address with no try left is refused
at once (403 with Retry-After) without its answer being checked. Bounded: at most
``max_sources`` addresses are remembered (the oldest forgotten first)."""

from __future__ import annotations

from collections import OrderedDict


class AuthThrottle:
    def __init__(self, failures: int, block_s: float, *, max_sources: int = 50_000) -> None:
        self.capacity = float(failures)
        self.rate = failures / block_s  # tries earned per second
        self.max_sources = max_sources
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # host -> (tokens, at)

    def _tokens(self, host: str, now: float) -> float:
        got = self._buckets.get(host)
        if got is None:
            return self.capacity
        tokens, at = got
        return min(self.capacity, tokens + (now - at) * self.rate)

    def retry_after(self, host: str, now: float) -> float:
        """0 when *host* may try; else the seconds until it may."""
        tokens = self._tokens(host, now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def blocked(self, now: float) -> int:
        """How many addresses are refused at *now* (no try left): one pass over those remembered."""
        cap, rate = self.capacity, self.rate
        return sum(1 for tokens, at in self._buckets.values() if min(cap, tokens + (now - at) * rate) < 1.0)

    def failed(self, host: str, now: float) -> None:
        self._buckets[host] = (max(0.0, self._tokens(host, now) - 1.0), now)
        self._buckets.move_to_end(host)
        while len(self._buckets) > self.max_sources:
            self._buckets.popitem(last=False)

    def succeeded(self, host: str) -> None:
        """A right password: the address's slate is wiped (a village NAT shares it with others)."""
        self._buckets.pop(host, None)
