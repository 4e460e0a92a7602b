"""What the scheduler keeps per camera and per upstream device, and each camera's stable phase."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from collector.runtime.camera_state import NOT_SEEN, Seen, State, Status
from inventory.monitored import MonitoredCamera, MonitoredDevice
from probes.checks import with_clock_offset
from probes.kept import KeptResult
from probes.ladder import LadderResult
from probes.vqd_rules import VqdBaseline


def phase_of(camera_id: int, interval_s: float) -> float:
    """A stable offset in [0, interval) from the camera id."""
    h = int.from_bytes(hashlib.blake2b(str(camera_id).encode(), digest_size=8).digest(), "big")
    return (h / 2**64) * interval_s


@dataclass(slots=True)
class CameraSlot:
    cam: MonitoredCamera
    status: Status
    planned: float  # monotonic time of the next regular (phase-aligned) fast-tier probe
    seq: int = 0
    running: bool = False
    last: LadderResult | KeptResult | None = None  # the scheduler stores a KeptResult (with its time)
    video_due: float = 0.0
    video_running: bool = False
    video_ok: bool | None = None
    # the video tier's last probe while it fails (its frame stage says why: stalled, SETUP refused, a
    # check failed); None once one passes: a pointer a camera, a result only for those failing
    video_last: KeptResult | None = None
    vqd_baseline: VqdBaseline = VqdBaseline()  # the picture checks' baseline of this camera (in memory)
    # An exclusion is in force: shown as excluded, but still probed and its real state stored,
    # so that reports can give the rate both with and without exclusions.
    excluded: bool = False
    seen: Seen = NOT_SEEN  # when probes last saw its state and its picture: changes are dated from it

    @property
    def last_at(self) -> dt.datetime | None:
        """When the last fast-tier probe started."""
        return self.last.at if isinstance(self.last, KeptResult) else None

    @property
    def shown(self) -> State:
        return State.EXCLUDED if self.excluded else self.status.state

    def failed_checks(self) -> tuple[str, ...]:
        """The failed checks while degraded, the clock's with its last offset (``clock:+600``):
        what alert messages and the API show."""
        offset = self.last.clock_offset_s if self.last is not None else None
        return with_clock_offset(self.status.video_failed, offset)


@dataclass(slots=True)
class DeviceSlot:
    dev: MonitoredDevice
    up: bool | None = None
    checked: float = 0.0
