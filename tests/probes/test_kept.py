"""The compact per-camera form of a ladder result: same readings, shared outlines, no payloads."""

from __future__ import annotations

import datetime as dt
import pickle

import pytest

from probes.base import Cause, ProbeResult, Stage
from probes.kept import KeptResult, kept
from probes.ladder import conclude


def healthy(reach_s: float, rtsp_s: float, onvif_s: float, offset: float) -> ProbeResult:
    onvif = ProbeResult(Stage.ONVIF, True, onvif_s, None, f"clock offset {offset:+.3f} s",
                        type("Onvif", (), {"clock_offset_s": offset, "device": object()})())
    return conclude([
        ProbeResult(Stage.REACH, True, reach_s, None, "".join(["tcp 8554 ", "open"]), object()),
        ProbeResult(Stage.RTSP, True, rtsp_s, None, "".join(["H264 1920x1080 ", "digest auth"]), object()),
        onvif,
    ])


def test_reads_like_the_result_without_payloads() -> None:
    res = healthy(0.000483, 0.0021, 0.0035, -2.251)
    k = kept(res)
    assert isinstance(k, KeptResult)
    assert (k.state, k.cause, k.clock_offset_s, k.warnings, k.device, k.video) == ("online", None, -2.251, (), None, None)
    assert [(r.stage, r.ok, r.cause, r.detail, r.data) for r in k.stages] == \
        [(r.stage, r.ok, r.cause, r.detail, None) for r in res.stages]
    assert [r.duration_s for r in k.stages] == pytest.approx([0.000483, 0.0021, 0.0035], abs=1e-6)
    assert k.stage_durations() == tuple((r.stage, r.duration_s) for r in k.stages)
    assert k.duration_s == pytest.approx(res.duration_s, abs=3e-6)
    assert repr(k.stage_durations()[0][1]) == "0.000483"  # short in /metrics
    assert k.at is None


def test_keeps_when_it_ran_and_an_unknown_clock() -> None:
    at = dt.datetime(2026, 12, 2, 8, 15, 30, 123456, tzinfo=dt.UTC)
    k = kept(conclude([ProbeResult(Stage.REACH, True, 0.001, None, "tcp 554 open"),
                       ProbeResult(Stage.RTSP, True, 0.002, None, "H264")]), at)
    assert k.at == at and k.clock_offset_s is None
    assert k.durations() == pytest.approx((0.001, 0.002), rel=1e-6)
    assert kept(healthy(0.0004, 0.002, 0.003, 86400.125), at).clock_offset_s == 86400.125


def test_cameras_of_one_model_share_one_outline() -> None:
    a = kept(healthy(0.0004, 0.002, 0.003, 0.5))
    b = kept(healthy(0.0009, 0.001, 0.004, -7.25))  # other durations and clock
    assert a.outline is b.outline
    assert a.stages[2].detail == "clock offset +0.500 s" and b.stages[2].detail == "clock offset -7.250 s"
    assert a.stages[0].detail is b.stages[0].detail


def test_failures_and_warnings_are_kept_verbatim() -> None:
    res = conclude([ProbeResult(Stage.REACH, True, 0.001, None, "tcp 554 open"),
                    ProbeResult(Stage.RTSP, False, 5.0, Cause.TIMEOUT, "no answer within 5 s"),
                    ProbeResult(Stage.ONVIF, False, 0.2, Cause.ONVIF_AUTH_FAILED, "credentials refused: 401")])
    k = kept(res)
    assert (k.state, k.cause) == ("offline", Cause.TIMEOUT)
    assert [(r.stage, r.ok, r.cause, r.detail) for r in k.stages] == [(r.stage, r.ok, r.cause, r.detail) for r in res.stages]
    assert k.warnings == res.warnings


def test_a_pickled_result_shares_its_outline_again() -> None:
    """A probe worker's reports reach the collector pickled: unpickled, each result would carry a
    copy of the same outline; it shares the one kept instead, and reads the same."""
    at = dt.datetime(2026, 12, 4, 8, tzinfo=dt.UTC)
    sent = [kept(healthy(0.0004 + i / 1e6, 0.002, 0.003, i / 8), at) for i in range(50)]
    warned = kept(conclude([ProbeResult(Stage.REACH, True, 0.001, None, "tcp 554 open")]), at)
    got = pickle.loads(pickle.dumps((*sent, warned)))  # noqa: S301 - our own bytes
    assert got == (*sent, warned)
    assert all(g.outline is sent[0].outline for g in got[:-1])  # (pickle made 50 new ones)
    assert [g.stages for g in got[:-1]] == [s.stages for s in sent] and got[-1].at == at
