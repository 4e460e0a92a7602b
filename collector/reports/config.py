"""``reports:`` section of the settings (pydantic, unknown keys refused): the fault threshold,
the day months close, and the contract score's rules. Further keys (delivery recipients) go
beside these as fields of :class:`ReportSettings`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreSettings(_Model):
    start: float = Field(100.0, ge=0, description="points a month starts with")
    floor: float = Field(0.0, ge=0, description="the score never goes below this")
    per_fault_camera: float = Field(
        1.0, ge=0, description="points off for each camera whose fault time in the period exceeds fault_hours")
    per_red_work_order: float = Field(0.5, ge=0, description="points off for each red (overdue) work order of the period")
    per_pp_below_target: float = Field(
        1.0, ge=0, description="points off per percentage point a region's online rate is below its target")
    below_target_level: Literal["county", "township"] = Field(
        "county", description="the regions whose shortfall below target is deducted: county or each township")


class Recipient(_Model):
    to: list[str] = Field(min_length=1, description="e-mail addresses that get the closed month's workbook (each its own copy)")
    region: str = Field("", description="a township (or county) code: they get that region's workbook alone; empty: the whole county's")
    lang: Literal["zh", "en"] | None = Field(None, description="language of the workbook and message (default: the top-level language)")

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a.strip(" @") or any(c.isspace() or c in ",;<>" for c in a)]
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(bad)}")
        return value


class ReportSettings(_Model):
    fault_hours: float = Field(8.0, gt=0, description="a camera is listed (and scored) when its fault time in the period exceeds these hours")
    close_day: int = Field(3, ge=1, le=28, description="day of the next month on which a month is closed (frozen) automatically")
    score: ScoreSettings = Field(default_factory=ScoreSettings, description="the contract score (考核得分): points and deductions")
    channel: str = Field("", description="the notify.channels e-mail channel that sends closed months' workbooks (empty: the first e-mail channel)")
    recipients: list[Recipient] = Field(default_factory=list, description="who gets each closed month's workbook by e-mail (see notify.channels)")


__all__ = ["Recipient", "ReportSettings", "ScoreSettings"]
