"""``camwatch probe TARGET``: run the probe ladder once against one camera and print the verdict.

TARGET is an ``rtsp://[user[:password]@]host[:port]/path`` URL or a camera id of the
inventory. Exit status (collector.cli.exitcodes): 0 online, 10 degraded, 11 offline; 2 for a bad
TARGET, 1 for an unknown camera id.
Passwords never reach the output: URLs are redacted where a password stands (``user:***@``,
``password=***``), and a stage's detail, a warning or the device's identity that holds the
password (a camera echoing it) is not shown at all (:func:`probes.detail_words.safe_detail`): a ``***``
at the password's place in text the reader can guess would spell the password out.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import click

from collector.cli.context import CliContext, pick
from collector.cli.exitcodes import DATA, PROBE_VERDICTS, USAGE
from collector.cli.runtime import run_async
from collector.settings import ProbeSettings
from probes.base import ProbeTarget
from probes.causes import cause_words
from probes.checks import check_words, problem_words, with_clock_offset
from probes.detail_words import detail_words, offset_words, safe_detail
from probes.redact import MASK, WITHHELD, redact_secrets, redact_url

EXIT_CODES = PROBE_VERDICTS
_NEXT_LOGIN = re.compile(r"; next login attempt in \d+ s")
Mask = Callable[[str], str]


def secret_mask(password: str | None) -> Mask:
    """A stage's detail, a warning, the device's identity as shown: :data:`probes.redact.WITHHELD`
    all of it where it holds *password* (any form, any case: :func:`probes.detail_words.safe_detail`),
    never a ``***`` at its place. Our labels, verdicts, JSON keys and URLs are never touched by the
    password's value."""
    secrets = (password,)
    return lambda text: safe_detail(text, secrets)


STATE_WORDS: dict[str, tuple[str, str]] = {
    "online": ("在线", "online"),
    "degraded": ("降级", "degraded"),
    "offline": ("离线", "offline"),
}
LABELS: dict[str, tuple[str, str]] = {
    "probing": ("探测", "probing"),
    "verdict": ("结论", "verdict"),
    "warning": ("警告", "warning"),
    "device": ("设备", "device"),
    "clock": ("时钟偏差", "clock offset"),
    "video": ("画面检测", "picture checks"),
    # a picture check with a verdict word: "信号丢失 ✓" read as "signal lost: yes"
    "check": ("{name}：{verdict}（得分 {score:.3g}）", "{name}: {verdict} (score {score:.3g})"),
    "pass": ("通过", "pass"),
    "fail": ("未通过", "FAIL"),
    "no_onvif": (
        "未检查 ONVIF（时钟、设备信息）：未指定 ONVIF 端口，可用 --onvif-port 指定",
        "ONVIF (clock, device identity) not checked: no ONVIF port given; name one with --onvif-port",
    ),
    "lockout": (
        "提示：不少摄像机在几次登录失败后会锁定账户，请先核对用户名和密码再重试",
        "note: many cameras lock the account after a few failed logins; check the user name and password before retrying",
    ),
    "not_found": ("找不到编号为 {id} 的摄像机", "no camera with id {id}"),
    "bad_target": (
        "无效的探测目标 {target}：{why}。应为 rtsp://[用户[:密码]@]主机[:端口]/路径 或摄像机编号",
        "invalid target {target}: {why}. Give rtsp://[user[:password]@]host[:port]/path or a camera id",
    ),
}


def register(group: click.Group) -> None:
    group.add_command(probe_command)


class BadTarget(ValueError):
    """A TARGET that is not an rtsp:// URL camwatch can probe; ``reason`` keys :data:`REASONS`."""

    def __init__(self, reason: str) -> None:
        super().__init__(REASONS[reason][1])
        self.reason = reason


REASONS: dict[str, tuple[str, str]] = {
    "scheme": ("只支持 rtsp://（不支持 rtsps://、http:// 等）", "only rtsp:// is supported (not rtsps://, http://...)"),
    "host": ("缺少主机地址", "no host"),
    "port": ("端口应为 1-65535 的数字", "the port must be a number from 1 to 65535"),
    "path": ("路径含空格或控制字符", "the path holds a blank or a control character"),
    "userinfo": (
        "用户名或密码中的 / ? # @ 等字符须按百分号编码书写（/ 为 %2F，? 为 %3F，# 为 %23，@ 为 %40，: 为 %3A，% 为 %25），"
        "或用 --password 给出密码",
        "write / ? # @ in the user name or password percent-encoded (%2F for /, %3F for ?, %23 for #, %40 for @, "
        "%3A for :, %25 for %), or give the password with --password",
    ),
}


def parse_rtsp_url(url: str) -> ProbeTarget:
    """A ProbeTarget from ``rtsp://[user[:pass]@]host[:port]/path`` (user/pass percent-decoded);
    :class:`BadTarget` says why not."""
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:  # ("Invalid IPv6 URL": a "[" or "]" where the host is read, a password's maybe)
        raise BadTarget("host") from None
    if parts.scheme.lower() != "rtsp":
        raise BadTarget("scheme")
    # an "@" after the host part: a password with a raw "/", "?" or "#" (read as the host otherwise:
    # a probe of the wrong host, with the password printed as part of its path)
    rest = text[text.index("//") + 2:] if "//" in text else ""
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    if "@" in rest[cut:]:
        raise BadTarget("userinfo")
    if not parts.hostname:
        raise BadTarget("host")
    try:
        port = parts.port
    except ValueError:
        raise BadTarget("port") from None
    if port == 0:
        raise BadTarget("port")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    for ch in path:
        if ch.isspace() or not ch.isprintable():
            raise BadTarget("path")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return ProbeTarget(host=parts.hostname, rtsp_port=554 if port is None else port, rtsp_path=path,
                       username=user, password=password)


def shown_target(arg: str, secrets: tuple[str | None, ...]) -> str:
    """A TARGET that could not be read, for an error message: whatever stands before its last "@"
    (user name and password, however mangled) never shown."""
    head, at, tail = arg.rpartition("@")
    if at:
        scheme = head.partition("://")[0] if "://" in head else ""
        arg = f"{scheme}://***@{tail}" if scheme else f"***@{tail}"
    else:  # no "@": a "user:password" with the host left out reads as "host:port": what is not a port is masked
        arg = _NOT_A_PORT.sub(r"\1:***", arg, count=1)
    return redact_secrets(arg, secrets)


_NOT_A_PORT = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#:]*):(?![0-9]*(?:[/?#]|$))[^/?#]*")


def _lang(obj: CliContext) -> str:
    if obj.lang_override:
        return obj.lang_override
    try:
        return obj.lang
    except (SystemExit, Exception):  # noqa: BLE001 - a broken config must not stop a probe
        return "zh"


def _clock_skew(obj: CliContext) -> float:
    """``probe.clock_skew_s`` of the configuration, or its default when there is none."""
    try:
        return obj.settings.probe.clock_skew_s
    except (SystemExit, Exception):  # noqa: BLE001 - a broken config must not stop a probe
        return ProbeSettings().clock_skew_s


def _device_json(device: Any) -> dict[str, Any] | None:
    if device is None:
        return None
    if dataclasses.is_dataclass(device) and not isinstance(device, type):
        return dataclasses.asdict(device)
    return {k: getattr(device, k, None) for k in ("vendor", "model", "firmware", "serial")}


def _video_json(video: Any) -> dict[str, Any] | None:
    if video is None:
        return None
    return {"checks": {c.name: {"ok": bool(c.ok), "score": c.score} for c in video}}


def result_json(res: Any, password: str | None = None) -> dict[str, Any]:
    """The result as ``--json`` prints it, *password* kept out (:func:`secret_mask`: a detail or a
    device field that holds it reads :data:`probes.redact.WITHHELD`)."""
    device, mask = _device_json(res.device), secret_mask(password)
    return {
        "state": res.state,
        "cause": str(res.cause) if res.cause is not None else None,
        "stages": [
            # (the collector's back-off: a one-shot probe keeps none)
            {"stage": str(s.stage), "ok": s.ok, "ms": round(s.duration_s * 1000.0, 1),
             "detail": mask(_NEXT_LOGIN.sub("", s.detail))}
            for s in res.stages
        ],
        "clock_offset_s": res.clock_offset_s,
        "failed_checks": list(with_clock_offset(res.failed_checks, res.clock_offset_s)),
        "device": None if device is None else {k: mask(v) if isinstance(v, str) else v for k, v in device.items()},
        "video": _video_json(res.video),
    }


def shown_url(target: ProbeTarget) -> str:
    """The target's URL as printed: ``***`` for a password and for the values of secret-named
    parameters of the path (:func:`probes.redact.redact_url`); the user name, host, port and path
    as they are, whatever the password (a user name ``admin`` with the password ``admin`` reads
    ``admin:***@``: masking it too would tell the password)."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    path = target.rtsp_path if target.rtsp_path.startswith("/") else "/" + target.rtsp_path
    userinfo = ""
    if target.username:
        userinfo = quote(target.username, safe="")
        userinfo += f":{MASK}@" if target.password is not None else "@"
    return redact_url(f"rtsp://{userinfo}{host}:{target.rtsp_port}{path}")


def human_lines(target: ProbeTarget, res: Any, lang: str) -> list[str]:
    """The result as printed, the target's password kept out (:func:`secret_mask`)."""
    mask = detail_of = secret_mask(target.password)
    lines = [f"{pick(lang, *LABELS['probing'])} {shown_url(target)}"]
    if not target.onvif_port:
        lines.append(f"  {pick(lang, *LABELS['no_onvif'])}")
    for s in res.stages:
        mark = "✓" if s.ok else "✗"
        cause = f"[{s.cause}] " if s.cause is not None and not s.ok else ""
        detail = detail_words(detail_of(_NEXT_LOGIN.sub("", s.detail)), lang)  # (the collector's back-off: a one-shot probe keeps none)
        lines.append(f"  {mark} {str(s.stage):<6} {s.duration_s * 1000.0:8.1f} ms  {cause}{detail}")
    if res.device is not None:
        dev = _device_json(res.device) or {}
        fields = mask(" ".join(str(dev.get(k)) for k in ("vendor", "model", "firmware", "serial") if dev.get(k)))
        fields = detail_words(fields, lang) if fields == WITHHELD else fields  # (the camera's words: as they are)
        lines.append(f"  {pick(lang, *LABELS['device'])}: {fields}")
    if res.clock_offset_s is not None:
        lines.append(f"  {pick(lang, *LABELS['clock'])}: {offset_words(f'{res.clock_offset_s:+.1f}', lang)}")
    if res.video is not None:
        checks = ("; " if lang == "en" else "；").join(pick(lang, *LABELS["check"]).format(
            name=check_words(c.name, lang), verdict=pick(lang, *LABELS["pass" if c.ok else "fail"]), score=c.score)
            for c in res.video)
        lines.append(f"  {pick(lang, *LABELS['video'])}: {checks}")
    for w in res.warnings:
        lines.append(f"  {pick(lang, *LABELS['warning'])}: {detail_words(detail_of(str(w)), lang)}")
    why = [cause_words(res.cause, lang)] if res.cause is not None else []
    if res.state == "degraded":
        why.append(problem_words(with_clock_offset(res.failed_checks, res.clock_offset_s), lang))
    verdict = pick(lang, *STATE_WORDS[res.state])
    if why:
        # (a dash, not brackets: a cause's words may hold their own, 端口关闭（拒绝连接）)
        verdict += f" — {'; '.join(why)}" if lang == "en" else f"——{'；'.join(why)}"
    sep = "：" if lang != "en" else ": "
    lines.append(f"{pick(lang, *LABELS['verdict'])}{sep}{verdict}")
    if res.cause == "auth_failed":
        lines.append(pick(lang, *LABELS["lockout"]))
    return lines


async def _resolve_and_probe(
    obj: CliContext,
    arg: str,
    lookup: Callable[[CliContext, int], Any] | None,
    user: str | None,
    password: str | None,
    onvif_port: int | None,
    opts: Any,
) -> tuple[ProbeTarget, Any]:
    """The target (from the URL, or the inventory through *lookup*), then the ladder's result."""
    from probes.ladder import run_ladder  # lazy: the ladder's imports (75 ms) only when a probe runs

    if lookup is not None:
        found = lookup(obj, int(arg))
        if inspect.isawaitable(found):
            found = await found
        target: ProbeTarget = found
        if onvif_port is not None:
            target = dataclasses.replace(target, onvif_port=onvif_port or None)
    else:
        # No ONVIF port named: ONVIF is not tried (no guessing at port 80); the output says so.
        target = dataclasses.replace(parse_rtsp_url(arg), onvif_port=onvif_port or None)
    if user is not None:
        target = dataclasses.replace(target, username=user)
    if password is not None:
        target = dataclasses.replace(target, password=password)
    return target, await run_ladder(target, opts)


@click.command("probe")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.option("--video", is_flag=True, help="also grab a frame and check picture quality")
@click.option("--user", default=None, help="RTSP/ONVIF user (overrides the URL's)")
@click.option(
    "--password",
    default=None,
    envvar="CAMWATCH_CAMERA_PASSWORD",
    help="password (overrides the URL's) [env CAMWATCH_CAMERA_PASSWORD]",
)
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.05, 600), default=5.0, show_default=True,
              help="time limit per stage in seconds (the frame stage gets at least 30)")
@click.option("--onvif-port", type=click.IntRange(0, 65535), default=None,
              help="ONVIF port for a URL target (without it ONVIF is not checked; 0 skips ONVIF)")
@click.pass_obj
def probe_command(
    obj: CliContext,
    target: str,
    as_json: bool,
    video: bool,
    user: str | None,
    password: str | None,
    timeout_s: float,
    onvif_port: int | None,
) -> None:
    """Probe one camera (rtsp:// URL or camera id) and print each stage and the verdict.

    Exit status: 0 online, 10 degraded, 11 offline (2 a bad TARGET, 1 an unknown camera id).
    """
    from probes.ladder import LadderOptions  # lazy: the ladder's imports (75 ms) only when a probe runs

    lang = _lang(obj)
    arg = target.strip()
    lookup: Callable[[CliContext, int], Any] | None = None
    if arg.isdigit():
        # lazy: a probe by URL does not load the database layer
        from collector.cli.targets import probe_target as lookup
    else:
        try:
            parse_rtsp_url(arg)
        except BadTarget as exc:
            why = pick(lang, *REASONS[exc.reason])
            click.echo("camwatch: " + pick(lang, *LABELS["bad_target"]).format(target=shown_target(arg, (password,)), why=why), err=True)
            raise SystemExit(USAGE) from None
    opts = LadderOptions(
        video=video,
        reach_timeout_s=timeout_s,
        rtsp_timeout_s=timeout_s,
        onvif_timeout_s=timeout_s,
        frame_timeout_s=max(timeout_s, 30.0),
        clock_skew_s=_clock_skew(obj),
    )
    try:
        tgt, res = run_async(_resolve_and_probe(obj, arg, lookup, user, password, onvif_port, opts))
    except LookupError:
        click.echo("camwatch: " + pick(lang, *LABELS["not_found"]).format(id=arg), err=True)
        raise SystemExit(DATA) from None
    if as_json:
        click.echo(json.dumps(result_json(res, tgt.password), ensure_ascii=False, default=str))
    else:
        for line in human_lines(tgt, res, lang):
            click.echo(line)
    raise SystemExit(EXIT_CODES[res.state])
