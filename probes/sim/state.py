"""Per-camera mutable state inside a worker process (behaviour, login state, counters)."""

from __future__ import annotations

import asyncio
from typing import Any

from probes.sim.behaviour import Behaviour
from probes.sim.identity import RTSP_PATH, DeviceIdentity, identity_for
from probes.sim.stats import CameraStats

_COUNTERS = (
    "rtsp_connections", "rtsp_connections_open", "max_rtsp_connections", "options", "describe",
    "setup", "play", "teardown", "get_parameter", "other_rtsp", "rtsp_challenges", "rtsp_logins", "bad_logins",
    "stale_nonces", "sessions_open", "max_sessions_open", "sessions_total", "onvif_connections",
    "onvif_requests", "onvif_auth_failures",
)


class CameraState:
    """One simulated camera as its worker sees it. Plain attributes, for speed."""

    # Counters (see CameraStats for their meaning).
    rtsp_connections: int
    rtsp_connections_open: int
    max_rtsp_connections: int
    options: int
    describe: int
    setup: int
    play: int
    teardown: int
    get_parameter: int
    other_rtsp: int
    rtsp_challenges: int
    rtsp_logins: int
    bad_logins: int
    stale_nonces: int
    sessions_open: int
    max_sessions_open: int
    sessions_total: int
    onvif_connections: int
    onvif_requests: int
    onvif_auth_failures: int

    __slots__ = (
        "index", "host", "rtsp_port", "onvif_port", "rtsp_path", "behaviour", "username",
        "password",
        "realm", "rtsp_server", "onvif_server", "transports", "failed_logins", "locked_until",
        "touched", "onvif_actions", "_identity", *_COUNTERS,
    )

    def __init__(self, index: int, host: str, rtsp_port: int, onvif_port: int,
                 behaviour: Behaviour, username: str, password: str) -> None:
        self.index = index
        self.host = host
        self.rtsp_port = rtsp_port
        self.onvif_port = onvif_port
        self.rtsp_path = RTSP_PATH
        self.behaviour = behaviour
        self.username = username
        self.password = password
        self.realm = f"IP Camera({index:06d})"
        self.rtsp_server: asyncio.AbstractServer | None = None
        self.onvif_server: asyncio.AbstractServer | None = None
        self.transports: set[asyncio.Transport] = set()
        self.failed_logins = 0
        self.locked_until = 0.0
        self._identity: DeviceIdentity | None = None
        self.reset_counters()

    def reset_counters(self) -> None:
        for name in _COUNTERS:
            setattr(self, name, 0)
        self.onvif_actions: dict[str, int] = {}
        self.touched = False

    @property
    def identity(self) -> DeviceIdentity:
        if self._identity is None:
            self._identity = identity_for(self.index)
        return self._identity

    # --- login bookkeeping shared by RTSP and ONVIF -------------------------------------

    def locked(self, now: float) -> bool:
        return now < self.locked_until

    def login_ok(self) -> None:
        self.failed_logins = 0

    def login_failed(self, now: float) -> None:
        self.bad_logins += 1
        self.failed_logins += 1
        limit = self.behaviour.lockout_after
        if limit and self.failed_logins >= limit:
            self.locked_until = now + self.behaviour.lockout_s
            self.failed_logins = 0

    # --- connection and session counters ------------------------------------------------

    def rtsp_opened(self, transport: asyncio.Transport) -> None:
        self.touched = True
        self.transports.add(transport)
        self.rtsp_connections += 1
        self.rtsp_connections_open += 1
        if self.rtsp_connections_open > self.max_rtsp_connections:
            self.max_rtsp_connections = self.rtsp_connections_open

    def rtsp_closed(self, transport: asyncio.Transport) -> None:
        self.transports.discard(transport)
        self.rtsp_connections_open -= 1

    def session_opened(self) -> None:
        self.sessions_open += 1
        self.sessions_total += 1
        if self.sessions_open > self.max_sessions_open:
            self.max_sessions_open = self.sessions_open

    def onvif_opened(self, transport: asyncio.Transport) -> None:
        self.touched = True
        self.transports.add(transport)
        self.onvif_connections += 1

    def onvif_called(self, action: str) -> None:
        self.onvif_requests += 1
        self.onvif_actions[action] = self.onvif_actions.get(action, 0) + 1

    def snapshot(self) -> CameraStats:
        values: dict[str, Any] = {name: getattr(self, name) for name in _COUNTERS}
        return CameraStats(index=self.index,
                           onvif_actions=tuple(sorted(self.onvif_actions.items())), **values)
