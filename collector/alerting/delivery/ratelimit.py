"""Per-channel rate limits as pure logic over ``now`` (seconds on any monotonic clock).

A channel has sliding-window limits such as DingTalk's 20 messages per minute or Feishu's
5 per second and 100 per minute. Every HTTP post counts, retries included. When more messages
wait than the windows allow, they are merged into one post (split only to respect the
channel's size limit) — never dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from collector.alerting.delivery.message import Outgoing, size


class RateLimiter:
    """Sliding windows: at most ``count`` posts within any ``per_s`` seconds, for each limit."""

    def __init__(self, limits: Sequence[tuple[int, float]]) -> None:
        for count, per_s in limits:
            if count <= 0 or per_s <= 0:
                raise ValueError(f"bad rate limit {count}/{per_s}s")
        self.limits = tuple(limits)
        self._keep = max((c for c, _ in self.limits), default=0)
        self._longest = max((p for _, p in self.limits), default=0.0)
        self._sent: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._sent and (self._sent[0] <= now - self._longest or len(self._sent) > self._keep):
            self._sent.popleft()

    def remaining(self, now: float) -> int | None:
        """Posts allowed at *now* without breaking any window; ``None`` when unlimited."""
        if not self.limits:
            return None
        self._prune(now)
        left = []
        for count, per_s in self.limits:
            used = sum(1 for t in self._sent if t > now - per_s)
            left.append(max(0, count - used))
        return min(left)

    def wait_s(self, now: float) -> float:
        """Seconds until one more post is allowed (0 when allowed now)."""
        if not self.limits:
            return 0.0
        self._prune(now)
        wait = 0.0
        for count, per_s in self.limits:
            recent = [t for t in self._sent if t > now - per_s]
            if len(recent) >= count:
                # the post that must leave the window first: the count-th most recent
                wait = max(wait, recent[-count] + per_s - now)
        return wait

    def record(self, now: float) -> None:
        if self.limits:
            self._sent.append(now)
            self._prune(now)


def plan(pending: Sequence[Outgoing], remaining: int | None, max_bytes: int) -> list[Outgoing]:
    """The messages the next post carries.

    While the waiting messages fit in what the windows still allow, one goes per post. When
    they do not, as many as fit in *max_bytes* (at least one) go merged into one post.
    """
    if not pending:
        return []
    if remaining is None or len(pending) <= remaining:
        return [pending[0]]
    take: list[Outgoing] = []
    total = 0
    for m in pending:
        s = size(m) + 16
        if take and total + s > max_bytes:
            break
        take.append(m)
        total += s
    return take
