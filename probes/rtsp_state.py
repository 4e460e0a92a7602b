"""Per-camera mutable state of the RTSP prober, kept in one explicit object.

:class:`RtspState` holds, per camera (host, port):

* the last authentication challenge (realm/nonce) and its nonce count, so the next
  probe answers it at once instead of paying for a 401 round trip;
* whether the camera wants OPTIONS before DESCRIBE;
* a lock, so there is never more than one RTSP session to a camera at a time;
* the back-off after ``auth_failed`` (cameras lock accounts after a few bad logins).

One instance is shared by all probes of a process (the collector makes one; the
CLI makes one per run). It is bound to no event loop until first used.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections import deque
from dataclasses import dataclass, field

from probes.endpoints import CameraKey, EndpointTable
from probes.rtsp_auth import Challenge

__all__ = ["BackoffPolicy", "CameraKey", "RtspState", "credential_fingerprint"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Exponential back-off after failed logins: base, base*factor, ... up to max_s."""

    base_s: float = 60.0
    factor: float = 2.0
    max_s: float = 3600.0


@dataclass(slots=True)
class _Backoff:
    failures: int
    until: float  # time.monotonic() deadline
    cred_fp: bytes = field(repr=False)  # keyed fingerprint of the credentials that failed


@dataclass(slots=True)
class _AuthCache:
    challenge: Challenge
    port: int  # the table is keyed by host (see EndpointTable)
    nc: int = 0


class _Slot:
    """The per-camera lock of :class:`RtspState` (a dict entry only while someone holds it)."""

    __slots__ = ("state", "key")

    def __init__(self, state: RtspState, key: CameraKey) -> None:
        self.state = state
        self.key = key

    async def __aenter__(self) -> None:
        busy = self.state._busy
        waiters = busy.get(self.key)
        if waiters is None:
            busy[self.key] = deque()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.state._release(self.key)  # we were handed the slot: hand it on
            else:
                with contextlib.suppress(ValueError):
                    waiters.remove(fut)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self.state._release(self.key)


def credential_fingerprint(key: bytes, username: str | None, password: str | None) -> bytes:
    """A digest keyed with a per-process random key that tells credential sets apart; never
    printed or stored, and useless for guessing a password outside this process."""
    h = hashlib.blake2b(digest_size=16, key=key, person=b"camwatch-rtsp")
    h.update((username or "").encode())
    h.update(b"\x00")
    h.update((password or "").encode())
    return h.digest()


class RtspState:
    """Mutable per-camera memory of the RTSP prober (see module docstring)."""

    __slots__ = ("backoff_policy", "_auth", "_backoff", "_busy", "_needs_options", "_clock", "_fp_key")

    def __init__(self, backoff: BackoffPolicy | None = None, *, clock: object = None) -> None:
        self.backoff_policy = backoff or BackoffPolicy()
        self._fp_key = os.urandom(32)
        self._auth: EndpointTable[_AuthCache] = EndpointTable()
        self._backoff: dict[CameraKey, _Backoff] = {}
        self._busy: dict[CameraKey, deque[asyncio.Future[None]]] = {}
        self._needs_options: set[CameraKey] = set()
        self._clock = clock or time.monotonic

    # -- one session at a time -------------------------------------------------
    def session_slot(self, key: CameraKey) -> _Slot:
        """``async with state.session_slot(key):`` runs concurrent probes of one camera one
        after another (FIFO). Cancellation while waiting is safe."""
        return _Slot(self, key)

    def busy(self, key: CameraKey) -> bool:
        return key in self._busy

    def _release(self, key: CameraKey) -> None:
        waiters = self._busy[key]
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # ownership passes to that waiter
                return
        del self._busy[key]

    # -- cached challenge ------------------------------------------------------
    def challenge(self, key: CameraKey) -> Challenge | None:
        entry = self._auth.get(key)
        return entry.challenge if entry is not None else None

    def remember_challenge(self, key: CameraKey, challenge: Challenge) -> None:
        entry = self._auth.get(key)
        if entry is not None and entry.challenge.nonce == challenge.nonce and entry.challenge.scheme == challenge.scheme:
            return
        self._auth.put(key, _AuthCache(challenge, key[1]))

    def next_nc(self, key: CameraKey) -> int:
        """The next nonce count (1, 2, ...) for the cached nonce of *key*."""
        entry = self._auth.get(key)
        if entry is None:
            raise KeyError(key)
        entry.nc += 1
        return entry.nc

    def forget_challenge(self, key: CameraKey) -> None:
        self._auth.pop(key)

    # -- OPTIONS before DESCRIBE -----------------------------------------------
    def needs_options(self, key: CameraKey) -> bool:
        return key in self._needs_options

    def set_needs_options(self, key: CameraKey) -> None:
        self._needs_options.add(key)

    # -- back-off after auth_failed --------------------------------------------
    def backoff_remaining(self, key: CameraKey, username: str | None, password: str | None) -> float:
        """Seconds the camera must still be left alone for these credentials (0 = go)."""
        entry = self._backoff.get(key)
        if entry is None:
            return 0.0
        if entry.cred_fp != credential_fingerprint(self._fp_key, username, password):
            # The credentials were changed since the failure: try the new ones at once.
            del self._backoff[key]
            return 0.0
        left = entry.until - self._clock()  # type: ignore[operator]
        return left if left > 0 else 0.0

    def record_auth_failure(self, key: CameraKey, username: str | None, password: str | None) -> float:
        """Note a failed login; returns the back-off now in force, in seconds."""
        fp = credential_fingerprint(self._fp_key, username, password)
        entry = self._backoff.get(key)
        failures = entry.failures + 1 if entry is not None and entry.cred_fp == fp else 1
        p = self.backoff_policy
        delay = min(p.base_s * p.factor ** (failures - 1), p.max_s)
        self._backoff[key] = _Backoff(failures, self._clock() + delay, fp)  # type: ignore[operator]
        return delay

    def record_auth_success(self, key: CameraKey) -> None:
        self._backoff.pop(key, None)

    def forget(self, key: CameraKey) -> None:
        """Drop everything known about a camera (e.g. it was removed from the inventory)."""
        self._auth.pop(key)
        self._backoff.pop(key, None)
        self._needs_options.discard(key)
