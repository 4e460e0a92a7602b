"""The scheduler's numbers, taken from the ``collector:`` settings (their defaults live there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from collector.runtime.camera_state import Policy

if TYPE_CHECKING:
    from collector.settings import AccountingSettings, CollectorSettings

# Due probes are started in batches at most this often: their socket events then share the event
# loop's wake-ups (a paced prober that wakes per probe costs twice the CPU; at 100 probes a second
# a 100 ms tick cost ~20 % less CPU per probe than a 50 ms one). Not a setting.
TICK_S = 0.1


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    interval_s: float
    video_interval_s: float
    video: bool
    concurrency: int
    per_device_concurrency: int
    video_concurrency: int
    device_port: int
    policy: Policy  # confirmation, offline re-probes, flapping
    catchup_s: float  # new cameras (all of them at a start) are first probed within this, spread evenly ...
    catchup_rate: float  # ... at most this many a second (this process's share): longer for a large fleet
    tick_s: float = TICK_S

    @classmethod
    def from_settings(cls, c: CollectorSettings, *, tick_s: float = TICK_S,
                      accounting: AccountingSettings | None = None) -> SchedulerConfig:
        """*accounting*: how changes are dated (None: the settings' default)."""
        return cls(
            interval_s=c.interval_s, video_interval_s=c.video_interval_s, video=c.video, concurrency=c.concurrency,
            per_device_concurrency=c.per_device_concurrency, video_concurrency=c.video_concurrency,
            device_port=c.upstream_port, policy=Policy.from_settings(c, accounting), tick_s=tick_s,
            catchup_s=c.catchup_s, catchup_rate=c.catchup_rate,
        )


def catchup_step(config: SchedulerConfig, new: int) -> float:
    """Seconds between the first probes of *new* cameras (a start, a replica's takeover): spread
    over ``catchup_s`` (at most half the interval), or longer when that would exceed
    ``catchup_rate`` probes a second, up to the whole interval: a catch-up that long is the regular
    phases themselves (the steady rate, cameras / interval, which no setting goes below); 0.0: no
    catch-up (each camera waits for its phase)."""
    if new <= 0 or config.catchup_s <= 0:
        return 0.0
    spread = min(max(min(config.catchup_s, config.interval_s / 2), new / config.catchup_rate), config.interval_s)
    return spread / new
