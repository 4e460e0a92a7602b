"""Shared types of the probe ladder: stages, targets and results (causes: :mod:`probes.causes`).

Every prober has the same signature (blackbox_exporter style)::

    async def probe(target: ProbeTarget, opts: <StageOptions>) -> ProbeResult

and is registered once in :data:`PROBERS`. The caller (the ladder, the collector)
owns timeouts and metrics; a prober maps foreign errors to a :class:`Cause` in one
place and never raises for a camera-side failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote

# Cause is declared with its words in probes.causes; re-exported because every prober
# imports it with the types below.
from probes.causes import Cause as Cause
from probes.redact import redact_url


class Stage(StrEnum):
    """The ladder's stages in the order they run (their options and limits: :mod:`probes.stages`)."""

    REACH = "reach"
    RTSP = "rtsp"
    ONVIF = "onvif"
    FRAME = "frame"


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """What a prober needs to know about one camera. The password never prints, nor one in the
    path (XiongMai, Dahua: ``/user=admin&password=...``): the repr shows the path masked."""

    host: str
    rtsp_port: int = 554
    rtsp_path: str = "/"
    onvif_port: int | None = 80
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    camera_id: int | None = None

    def __repr__(self) -> str:
        return (f"ProbeTarget(host={self.host!r}, rtsp_port={self.rtsp_port!r}, "
                f"rtsp_path={redact_url(self.rtsp_path)!r}, onvif_port={self.onvif_port!r}, "
                f"username={self.username!r}, camera_id={self.camera_id!r})")

    def rtsp_url(self, *, with_credentials: bool = False, redact: bool = True) -> str:
        """The camera's RTSP URL; credentials only when asked, redacted unless told not to."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        path = self.rtsp_path if self.rtsp_path.startswith("/") else "/" + self.rtsp_path
        userinfo = ""
        if with_credentials and self.username:
            userinfo = quote(self.username, safe="")
            if self.password is not None:
                userinfo += ":" + quote(self.password, safe="")
            userinfo += "@"
        url = f"rtsp://{userinfo}{host}:{self.rtsp_port}{path}"
        return redact_url(url) if redact else url


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Outcome of one stage for one camera."""

    stage: Stage
    ok: bool
    duration_s: float
    cause: Cause | None = None
    detail: str = ""
    # Stage-specific typed payload (a frozen dataclass defined by the prober), or None.
    data: Any = None


Prober = Callable[[ProbeTarget, Any], Awaitable[ProbeResult]]

PROBERS: dict[Stage, Prober] = {}


def register(stage: Stage) -> Callable[[Prober], Prober]:
    """Register the one prober of a stage. Registering a stage twice is a bug."""

    def deco(fn: Prober) -> Prober:
        if stage in PROBERS and PROBERS[stage] is not fn:
            raise RuntimeError(f"a prober for stage {stage} is already registered")
        PROBERS[stage] = fn
        return fn

    return deco
