"""Request counters of the simulated cameras, as seen by :meth:`Fleet.stats`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class CameraStats:
    """Counters of one camera since the fleet started (or since :meth:`Fleet.reset_stats`).

    ``*_open`` are current values, ``max_*`` the highest seen. An RTSP session is opened by
    SETUP and ends with TEARDOWN or when its connection closes.
    """

    index: int
    rtsp_connections: int = 0
    rtsp_connections_open: int = 0
    max_rtsp_connections: int = 0
    options: int = 0
    describe: int = 0
    setup: int = 0
    play: int = 0
    teardown: int = 0
    get_parameter: int = 0
    other_rtsp: int = 0
    rtsp_challenges: int = 0  # 401s sent (challenge, stale nonce, wrong login, lockout)
    rtsp_logins: int = 0  # RTSP requests carrying an Authorization header (login attempts)
    bad_logins: int = 0  # wrong credentials (RTSP and ONVIF)
    stale_nonces: int = 0
    sessions_open: int = 0
    max_sessions_open: int = 0
    sessions_total: int = 0
    onvif_connections: int = 0
    onvif_requests: int = 0
    onvif_auth_failures: int = 0
    onvif_actions: tuple[tuple[str, int], ...] = ()

    @property
    def rtsp_requests(self) -> int:
        return (self.options + self.describe + self.setup + self.play + self.teardown
                + self.get_parameter + self.other_rtsp)

    def onvif_action(self, name: str) -> int:
        """How many times an ONVIF action (e.g. ``GetDeviceInformation``) was called."""
        return dict(self.onvif_actions).get(name, 0)


_SUMMED = tuple(f.name for f in fields(CameraStats) if f.name not in ("index", "onvif_actions"))


@dataclass(frozen=True, slots=True)
class FleetStats:
    """Counters of every camera that saw traffic, plus fleet totals."""

    cameras: Mapping[int, CameraStats]

    def camera(self, index: int) -> CameraStats:
        """One camera's counters (all zero when it saw no traffic)."""
        return self.cameras.get(index) or CameraStats(index)

    def total(self, name: str) -> int:
        """Sum of one counter over all cameras (``max_*`` counters: the maximum)."""
        if name not in _SUMMED and name != "rtsp_requests":
            raise KeyError(name)
        values = [getattr(c, name) for c in self.cameras.values()]
        if name.startswith("max_"):
            return max(values, default=0)
        return sum(values)

    @classmethod
    def merge(cls, parts: Iterable[Iterable[CameraStats]]) -> FleetStats:
        return cls({c.index: c for part in parts for c in part})
