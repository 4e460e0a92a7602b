"""What a camera has sent during the current stage, so that a stage limit's expiry says whether
the camera was silent ("no answer within 5 s") or answered too slowly ("reply too slow: first
reply after 3.0 s, not finished within 5 s": a slow camera, a Digest login's second round trip,
a reply trickled a line at a time).

:func:`probes.stage_limit.run_stage` makes one :class:`Progress` per stage run and makes it
current (a context variable: the prober runs in the same task); a connection takes the current
one when it sends a request and marks it when reply bytes arrive (a leaf module: the wire
modules import it and nothing else of the project).
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token


class Progress:
    """One stage run: when it started and when the camera's first reply bytes arrived."""

    __slots__ = ("started", "first_reply_at")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first_reply_at: float | None = None

    def heard(self) -> None:
        """Reply bytes arrived (the first call counts)."""
        if self.first_reply_at is None:
            self.first_reply_at = time.perf_counter()

    def timeout_detail(self, limit: float) -> str:
        """The words of the stage limit's expiry."""
        if self.first_reply_at is None:
            return f"no answer within {limit:g} s"
        first = self.first_reply_at - self.started
        return f"reply too slow: first reply after {first:.1f} s, not finished within {limit:g} s"


_CURRENT: ContextVar[Progress | None] = ContextVar("camwatch_stage_progress", default=None)


def current() -> Progress | None:
    """The progress of the stage running in this task, or None outside a stage limit."""
    return _CURRENT.get()


def begin() -> tuple[Progress, Token[Progress | None]]:
    """A new :class:`Progress`, made current until :func:`end` with the token."""
    progress = Progress()
    return progress, _CURRENT.set(progress)


def end(token: Token[Progress | None]) -> None:
    _CURRENT.reset(token)
