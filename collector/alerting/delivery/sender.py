"""What every channel is to the notifier: a :class:`Sender`, failing with :class:`DeliveryError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from collector.alerting.delivery.message import Outgoing


class DeliveryError(Exception):
    """A delivery attempt failed; *reason* (English) and *zh* (Chinese, when there is one) name no
    secret of ours, but may quote the receiver: still pass them through the channel's redactor."""

    def __init__(self, reason: str, *, retryable: bool = True, zh: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.zh = zh

    def render(self, lang: str) -> str:
        return self.reason if lang == "en" or self.zh is None else self.zh


class Sender(Protocol):
    name: str
    kind: str
    limits: tuple[tuple[int, float], ...]
    max_bytes: int

    async def deliver(self, msgs: Sequence[Outgoing]) -> None:
        """Send *msgs* as one post; raise :class:`DeliveryError` on failure."""
