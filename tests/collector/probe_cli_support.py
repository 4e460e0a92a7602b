"""What the ``camwatch probe`` tests share: running the command in-process, and stand-ins for the
ladder's device and picture-check results (frame and ONVIF results the loopback servers cannot give)."""

from __future__ import annotations

from dataclasses import dataclass

from click.testing import CliRunner

from collector.cli import build_cli


def invoke(*args: str, lang: str | None = None) -> tuple[int, str, str]:
    """``camwatch [--lang LANG] probe ARGS...``: exit code, stdout, stderr."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click >= 8.2 keeps stderr apart
    pre = ["--lang", lang] if lang else []
    res = runner.invoke(build_cli(), [*pre, "probe", *args], catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    score: float


@dataclass(frozen=True)
class Device:
    vendor: str
    model: str
    firmware: str
    serial: str
