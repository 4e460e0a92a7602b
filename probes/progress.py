"""What a camera has sent during the current stage, so that a stage limit's expiry tells what
happened to the request it was waiting on: the camera was silent from the start ("no answer within
5 s"), it answered slowly ("reply too slow: first reply after 3.0 s, not finished within 5 s": a
slow camera, a Digest login's second round trip, a reply trickled a line at a time), or it answered
earlier requests and then went silent on one ("no answer to DESCRIBE within 5 s": a camera that
answered OPTIONS at once and never DESCRIBE).

:func:`probes.stage_limit.run_stage` makes one :class:`Progress` per stage run and makes it
current (a context variable: the prober runs in the same task); a connection tells the current
one when it sends a request (:meth:`Progress.sent`), when the reply's first bytes arrive
(:meth:`Progress.heard`) and when the reply is complete (:meth:`Progress.replied`). A prober may
leave what it learned before an expiry with it (:meth:`Progress.keep`: the ONVIF clock read before
the device information timed out). A leaf module: the wire modules import it and nothing else of
the project.
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token


class Progress:
    """One stage run: its requests, and when the camera's reply bytes arrived."""

    __slots__ = ("started", "first_reply_at", "reply_at", "request", "sent_at", "answered", "slowest", "kept", "note")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first_reply_at: float | None = None  # the stage's first reply bytes
        self.reply_at: float | None = None  # the first reply bytes to the request in flight
        self.request: str | None = None  # the request in flight (its method or SOAP action)
        self.sent_at = self.started
        self.answered = 0  # requests answered in full
        self.slowest = 0.0  # the longest wait for the first bytes of a reply answered in full
        self.kept: object = None  # what the prober learned before an expiry: the expired result's data
        self.note = ""  # ... and the words added to its detail

    def sent(self, request: str) -> None:
        """*request* went out: the next reply bytes are its reply's."""
        self.request = request
        self.sent_at = time.perf_counter()
        self.reply_at = None

    def heard(self) -> None:
        """Reply bytes arrived (the first call per request counts)."""
        if self.reply_at is None:
            self.reply_at = time.perf_counter()
            if self.first_reply_at is None:
                self.first_reply_at = self.reply_at

    def replied(self) -> None:
        """The reply to the request in flight is complete."""
        if self.reply_at is not None:
            self.slowest = max(self.slowest, self.reply_at - self.sent_at)
        self.answered += 1
        self.request = None

    def keep(self, data: object, note: str = "") -> None:
        """What the prober learned so far, for the result of an expiry (its data; *note* ends its detail)."""
        self.kept = data
        self.note = note

    def timeout_detail(self, limit: float) -> str:
        """The words of the stage limit's expiry (and the prober's note: :meth:`keep`)."""
        note = self.note
        if self.first_reply_at is None:
            return f"no answer within {limit:g} s" + note  # silent from the start
        slow = f"reply too slow: first reply after {self.first_reply_at - self.started:.1f} s, not finished within {limit:g} s"
        request, answered = self.request, self.answered
        if not answered:  # the first reply of the stage did not finish
            return slow + note
        if request is None:  # between requests (connecting again)
            return f"no answer within {limit:g} s after {answered} answered request{'s' * (answered != 1)}" + note
        if self.reply_at is not None:  # an earlier request answered; this one's reply started and did not finish
            return (f"reply to {request} too slow: started {self.reply_at - self.sent_at:.1f} s after it was sent, "
                    f"not finished within {limit:g} s" + note)
        if time.perf_counter() - self.sent_at <= self.slowest:  # answers came as slowly before: slow, not silent
            return slow + note
        sent = self.sent_at - self.started  # answered before, then silent on this one
        if sent < 0.05:
            return f"no answer to {request} within {limit:g} s" + note
        return f"no answer to {request} (sent after {sent:.1f} s) within {limit:g} s" + note


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
