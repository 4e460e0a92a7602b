"""Every detail the probers word, in Chinese: our English never reaches a Chinese reader, while the
numbers, status codes and the camera's own words stay as they are (and English stays as it is).

:data:`CASES` lists the details read from the probers' code, one row per phrase (with the text a
row quotes: a camera's words, an OS error text); :func:`test_every_phrase_of_the_probers_has_a_row`
reads the probers (ast) and fails on a phrase no row shows, so a new detail needs its row (and its
Chinese in ``probes/detail_words.py``). The real probers' details, driven against the simulator and
hostile loopback servers, are checked in ``test_detail_words_probed.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from probes.detail_words import detail_words
from tests.probes.detail_english import english_left, numbers_lost

DEVICE = "Hikvision DS-2CD2143G2-I V5.7.3 build 220112"
FAULT = "Receiver/ActionNotSupported: Optional Action Not Implemented"

# (detail, what it quotes that stays English)
CASES: list[tuple[str, tuple[str, ...]]] = [
    # --- reach (probes.reach) -----------------------------------------------------------
    ("tcp 554 open", ()), ("tcp 8554 open; ping 1.2 ms", ()), ("tcp 554 open; no ping reply", ()),
    ("tcp 554 open; icmp not possible (SocketPermissionError)", ("SocketPermissionError",)),
    ("tcp 554 open; icmp not possible (Operation not permitted)", ("Operation not permitted",)),
    ("connection refused", ()), ("connection refused; ping 0.3 ms", ()), ("unreachable", ()),
    ("No route to host", ("No route to host",)), ("No route to host; no ping reply", ("No route to host",)),
    ("Network is unreachable", ("Network is unreachable",)), ("Host is down", ("Host is down",)),
    ("Network is down", ("Network is down",)), ("Connection timed out", ("Connection timed out",)),
    ("Cannot assign requested address", ("Cannot assign requested address",)),
    ("name not resolved: Name or service not known", ("Name or service not known",)),
    ("name not resolved: Temporary failure in name resolution", ("Temporary failure in name resolution",)),
    ("name not resolved: No address associated with hostname", ("No address associated with hostname",)),
    ("name not resolved: error", ()),
    ("connect failed: Permission denied", ("Permission denied",)), ("connect failed: OSError", ("OSError",)),
    # --- any stage: its limit (probes.progress, probes.stage_limit), a prober's bug (probes.stages)
    ("no answer within 3 s", ()), ("no answer within 0.5 s", ()),
    ("reply too slow: first reply after 0.6 s, not finished within 5 s", ()),
    # ... a request after others were answered (probes.progress: the request that timed out)
    ("no answer to DESCRIBE within 5 s", ()), ("no answer to DESCRIBE (sent after 3.0 s) within 5 s", ()),
    ("no answer to GetDeviceInformation within 5 s (clock offset -1766016000.3 s)", ()),
    ("reply to DESCRIBE too slow: started 0.3 s after it was sent, not finished within 5 s", ()),
    ("no answer within 5 s after 2 answered requests", ()), ("no answer within 5 s after 1 answered request", ()),
    ("rtsp prober error: KeyError", ("KeyError",)), ("frame prober error: PoolClosedError", ("PoolClosedError",)),
    # --- rtsp (probes.rtsp, rtsp_conn, rtsp_wire; probes.ladder's back-off) -------------------
    ("connect timed out", ()), ("no reply in time", ()), ("connection reset by camera", ()),
    ("no address answered", ()), ("malformed reply", ()), ("connection closed by camera", ()),
    ("socket error: Too many open files", ("Too many open files",)), ("socket error: OSError", ("OSError",)),
    ("reply header over the line caps", ()), ("not an RTSP reply", ()), ("bad RTSP status line", ()),
    ("malformed RTSP header line", ()), ("unsolicited data from camera", ()), ("reply without CSeq", ()),
    ("CSeq mismatch (sent 2, got 7)", ()), ("CSeq mismatch (sent 2, got something else)", ()),
    ("camera answered with TLS (an RTSPS port?)", ()), ("reply header line longer than 8192 bytes", ()),
    ("reply header of more than 100 lines", ()), ("reply header longer than 65536 bytes", ()),
    ("bad Content-Length", ()), ("reply larger than 65536 bytes", ()),
    ("credentials contain a line break", ()), ("401 without a supported challenge", ()),
    ("401 without an authentication challenge (no WWW-Authenticate)", ()),
    ("camera asks for an authentication scheme camwatch does not support (NTLM)", ("NTLM",)),
    ("camera asks for an authentication scheme camwatch does not support (Negotiate, Digest SHA-512-256)",
     ("Negotiate, Digest SHA-512-256",)),
    ("reply to DESCRIBE without SDP", ()), ("reply to DESCRIBE is not SDP", ()),
    ("camera answered in RTSP/2.0, not RTSP/1.0", ("RTSP/2.0", "RTSP/1.0")),
    ("redirect to unsupported URL http://192.0.2.7/live", ("http://192.0.2.7/live",)),
    ("redirected to 192.0.2.7:554 (another host, not followed)", ()), ("redirect loop", ()),
    ("more than 3 redirects", ()), ("SDP larger than 32768 bytes", ()), ("unreadable SDP (ValueError)", ("ValueError",)),
    ("no video track in SDP", ()), ("302 redirect without Location", ()),
    ("401 Unauthorized", ("Unauthorized",)), ("401 Unauthorized (no credentials given)", ("Unauthorized",)),
    ("401 (no credentials given)", ()), ("403 Forbidden (no credentials given)", ("Forbidden",)),
    ("credentials refused (401 Unauthorized)", ("Unauthorized",)),
    ("credentials refused (403 Forbidden); next login attempt in 60 s", ("Forbidden",)),
    ("404 Not Found", ("Not Found",)), ("453 Not Enough Bandwidth", ("Not Enough Bandwidth",)),
    ("454 Session Not Found", ("Session Not Found",)), ("503 Service Unavailable", ("Service Unavailable",)),
    ("404", ()), ("unexpected status 500 Internal Server Error", ("Internal Server Error",)),
    ("unexpected status 400 Bad Request", ("Bad Request",)), ("unexpected status 299", ()),
    ("backing off after failed login, 42 s left", ()),
    ("H264 1920x1080 digest auth", ()), ("H265 2560x1440 basic auth", ()), ("MJPEG digest auth", ("MJPEG",)),
    ("video", ()), ("video 704x576", ()), ("video basic auth", ()), ("H264 1280x720", ()),
    # --- onvif (probes.onvif, onvif_http, onvif_soap, xmlsafe) ------------------------------
    ("onvif disabled", ()), ("clock offset +0.003 s", ()), ("clock offset -599.657 s; " + DEVICE, (DEVICE,)),
    ("credentials refused: HTTP 401", ()), ("credentials refused: HTTP 401 (clock offset +0.4 s)", ()),
    ("credentials refused: HTTP 400 Sender/NotAuthorized: Sender not Authorized (clock offset -3.0 s)",
     ("Sender/NotAuthorized: Sender not Authorized",)),
    ("credentials refused: the camera wants credentials for its clock; none given", ()),
    (f"HTTP 500 fault {FAULT} (clock offset +0.1 s)", (FAULT,)), ("HTTP 500 fault Receiver", ("Receiver",)),
    ("HTTP 404 Not Found", ("Not Found",)), ("HTTP 404 Not Found (clock offset +0.1 s)", ("Not Found",)),
    ("HTTP 500", ()), ("HTTP 200 OK", ("OK",)),
    ("connection refused", ()), ("timed out", ()),
    ("network error: Connection reset by peer", ("Connection reset by peer",)),
    ("network error: No route to host", ("No route to host",)), ("network error: OSError", ("OSError",)),
    ("bad reply: UnicodeDecodeError", ("UnicodeDecodeError",)),
    ("forbidden XML construct: document type declaration (DTD)", ()),
    ("forbidden XML construct: entity declaration", ()), ("forbidden XML construct: external entity reference", ()),
    ("more than 10000 elements", ()), ("nested deeper than 64 levels", ()),
    ("document of 300000 bytes exceeds the cap of 262144", ()),
    ("malformed XML: syntax error at line 1, column 0", ()),
    ("malformed XML: not well-formed (invalid token) at line 1, column 5", ()),
    ("malformed XML: mismatched tag at line 3, column 2", ()), ("malformed XML: no element found at line 1, column 12", ()),
    ("malformed XML: unbound prefix at line 1, column 0", ()),
    ("nested too deeply", ()), ("empty document", ()),
    ("not a SOAP envelope (root element 'html')", ("'html'",)), ("SOAP envelope without a Body", ()),
    ("missing or bad Date/Year in the camera's date and time", ()),
    ("missing or bad Time/Second in the camera's date and time", ()),
    ("no GetSystemDateAndTimeResponse in the reply", ()), ("no GetDeviceInformationResponse in the reply", ()),
    ("the camera's date and time has no UTCDateTime", ()), ("the camera's UTCDateTime is out of range", ()),
    ("bad HTTP reply: connection already closed", ()), ("bad HTTP reply: connection closed before the reply", ()),
    ("bad HTTP reply: connection closed in the middle of the reply", ()),
    ("bad HTTP reply: reply head larger than 16384 bytes", ()),
    ("bad HTTP reply: more than 8 interim (1xx) replies", ()), ("bad HTTP reply: reply body larger than 262144 bytes", ()),
    ("bad HTTP reply: reply head with more than 100 lines", ()),
    ("bad HTTP reply: not an HTTP reply (TLS: an HTTPS port?)", ()), ("bad HTTP reply: not an HTTP reply (TLS or garbage)", ()),
    ("bad HTTP reply: malformed reply header", ()), ("bad HTTP reply: bad Content-Length", ()),
    ("bad HTTP reply: reply body of 999999 bytes exceeds the cap of 262144", ()),
    ("bad HTTP reply: chunk not followed by CRLF", ()), ("bad HTTP reply: malformed chunk size", ()),
    ("bad HTTP reply: reply in more than 4096 chunks", ()), ("bad HTTP reply: more than 32 trailer lines", ()),
    ("bad HTTP reply: malformed chunked body: a size or trailer line too long", ()),
    # --- a ladder warning (probes.ladder.conclude: "<stage> <cause>: <detail>") ------------------
    ("onvif onvif_auth_failed: credentials refused: HTTP 401", ()), ("onvif onvif_error: timed out", ()),
    ("onvif onvif_error: no answer within 5 s", ()), ("onvif onvif_error", ()),
    # --- frame (probes.frame, frame_grab, frame_pool, frame_worker) ----------------------------
    ("640x360; picture ok", ()), ("1920x1080; picture fails: black, blur", ()),
    ("1920x1080; picture fails: signal_loss, color_cast, frozen, occlusion, dark, bright, contrast, noise", ()),
    ("auth failed: camera refused the credentials", ()), ("auth failed: camera answered RTSP 401 to DESCRIBE", ()),
    ("auth failed: camera answered RTSP 403 to SETUP", ()), ("refused: connection refused", ()),
    ("unreachable: no route to host", ()), ("unreachable: network unreachable", ()),
    ("timeout", ()), ("auth failed", ()), ("stream not found", ()), ("stream unavailable", ()), ("no frame", ()),
    ("timeout: no answer within 10 s", ()), ("timeout: no video data within 5.0 s after PLAY", ()),
    ("timeout: RTSP set-up not finished within 10 s", ()), ("bad reply: camera answered RTSP 999 to OPTIONS", ()),
    ("bad reply: camera answered RTSP 500 to DESCRIBE", ()), ("bad reply: connection closed by camera", ()),
    ("bad reply: unreadable RTSP reply (invalid data from the camera)", ()),
    ("bad reply: Input/output error", ("Input/output error",)), ("bad reply", ()),
    ("stream unavailable: camera answered RTSP 461 to SETUP", ()), ("stream unavailable: camera answered RTSP 400 to PLAY", ()),
    ("timeout: decoder gave no frame within 30 s; killed", ()),
    ("stream not found: camera answered RTSP 404 to DESCRIBE", ()), ("stream not found: camera answered RTSP 404", ()),
    ("stream unavailable: camera answered RTSP 453 to SETUP", ()), ("stream unavailable: camera answered RTSP 454 to PLAY", ()),
    ("stream unavailable: camera answered RTSP 503 to DESCRIBE", ()),
    ("no frame: the stream has no video track", ()), ("no frame: no picture decoded within 5 s (3 frames)", ()),
    ("no frame: stream opened but ended before any frame", ()), ("no frame: no keyframe for the second picture", ()),
    ("no frame: second picture not decoded", ()),
    ("no frame: no decodable video in the stream (invalid data from the camera)", ()),
    ("stalled: no new frame for 4.1 s after 28 frames", ()), ("stalled: stream ended after 1 frame", ()),
    ("cancelled: cancelled", ()), ("error", ()), ("error: camera answered RTSP 500 to DESCRIBE", ()),
    ("error: Input/output error", ("Input/output error",)), ("error: End of file", ("End of file",)),
    ("error: Server returned 5XX Server Error reply", ("Server returned 5XX Server Error reply",)),
    ("error: OSError", ("OSError",)), ("error: decoder process died (exit status -9)", ()),
    ("error: decoder error: MemoryError", ("MemoryError",)),
    # --- probes.enrich (EnrichError's detail; a foreign error's "<class>: <its text>" is kept as it is)
    ("onvif disabled for this camera", ()), ("ClientConnectorError", ("ClientConnectorError",)),
    # --- the collector's warning for a camera whose password cannot be read (collector.runtime.ladders.reach_only:
    # "no login attempted: <inventory.secrets.SecretError>"; test_no_login_warning.py words the real ones)
    ("no login attempted: no encryption key: cannot read stored passwords", ()),
    ("no login attempted: stored password cannot be decrypted with this key", ()),
    ("no login attempted: environment variable CAM_PW_7 is not set", ("CAM_PW_7",)),
    ("no login attempted: unknown credential reference", ()),
    ("no login attempted: no encryption key: set CAMWATCH_SECRET_KEY or secrets.key_file",
     ("CAMWATCH_SECRET_KEY", "secrets.key_file")),
]

# How some read, word for word.
EXACT = {
    "credentials refused (401 Unauthorized)": "认证被拒绝（401 Unauthorized）",
    "credentials refused (401 Unauthorized); next login attempt in 60 s": "认证被拒绝（401 Unauthorized）；60 秒后再尝试登录",
    "No route to host": "主机不可达（No route to host）",
    "Network is unreachable": "网络不可达（Network is unreachable）",
    "clock offset +599.657 s": "时钟偏差 +599.657 秒",
    "clock offset -1.250 s; " + DEVICE: "时钟偏差 -1.250 秒；" + DEVICE,
    "454 Session Not Found": "会话不存在（454 Session Not Found）",
    "503 Service Unavailable": "服务不可用（503 Service Unavailable）",
    "404 Not Found": "码流不存在（404 Not Found）",
    "refused: connection refused": "连接被拒绝",
    "unreachable: no route to host": "主机不可达",
    "tcp 554 open; ping 1.2 ms": "TCP 554 端口可连接；ping 往返 1.2 毫秒",
    "name not resolved: Name or service not known": "域名无法解析：域名或服务未知（Name or service not known）",
    "network error: Connection reset by peer": "网络错误：连接被对方重置（Connection reset by peer）",
    "credentials refused: HTTP 401 (clock offset +0.4 s)": "认证被拒绝（HTTP 401），时钟偏差 +0.4 秒",
    "onvif onvif_auth_failed: credentials refused: HTTP 401": "ONVIF 用户名或密码错误：认证被拒绝（HTTP 401）",
    "H264 1920x1080 digest auth": "H264 1920x1080，摘要认证",
    "1920x1080; picture fails: black, blur": "1920x1080；画面异常：黑屏、模糊",
    "stalled: no new frame for 4.1 s after 28 frames": "画面停滞：收到 28 帧后 4.1 秒没有新帧",
    "timeout: no answer within 10 s": "超时：10 秒内无应答",
    "no answer to DESCRIBE within 5 s": "DESCRIBE 请求 5 秒内无应答",
    "no answer to GetDeviceInformation within 5 s (clock offset +3.0 s)": "GetDeviceInformation 请求 5 秒内无应答，时钟偏差 +3.0 秒",
    "camera asks for an authentication scheme camwatch does not support (NTLM)": "摄像机要求的认证方式不受支持（NTLM）",
    "timeout: RTSP set-up not finished within 10 s": "超时：RTSP 会话建立 10 秒内未完成",
    "no login attempted: environment variable CAM_PW_7 is not set": "未尝试登录：环境变量 CAM_PW_7 未设置",
    "no login attempted: stored password cannot be decrypted with this key": "未尝试登录：已存密码无法用当前密钥解密（密钥不对）",
    "onvif disabled for this camera": "该摄像机未启用 ONVIF",
}

# Text we do not know is shown as it is (a camera's words, a library's new message).
UNKNOWN = ["Hikvision DS-2CD2143G2-I", "something the camera said", "error: Some new FFmpeg message",
           "socket error: Some new OS text", "HTTP/1.1 garbage"]


@pytest.mark.parametrize(("detail", "kept"), CASES, ids=[c[0][:60] for c in CASES])
def test_every_detail_reads_in_chinese(detail: str, kept: tuple[str, ...]) -> None:
    zh = detail_words(detail, "zh")
    assert english_left(zh, kept) == [], f"{detail!r} -> {zh!r}"
    assert numbers_lost(detail, zh) == [], f"{detail!r} -> {zh!r}"
    for piece in kept:
        assert piece in zh, f"{detail!r} -> {zh!r}: {piece!r} not shown as it is"
    assert detail_words(detail, "en") == detail


@pytest.mark.parametrize(("detail", "zh"), EXACT.items())
def test_how_details_read(detail: str, zh: str) -> None:
    assert detail_words(detail, "zh") == zh
    assert detail_words(detail, "en") == detail


@pytest.mark.parametrize("text", UNKNOWN)
def test_unknown_text_as_it_is(text: str) -> None:
    zh = detail_words(text, "zh")
    head, sep, rest = text.partition(": ")
    assert zh == text or (sep and zh.endswith("：" + rest)), zh
    assert detail_words(text, "en") == text


def test_a_masked_password_stays_masked() -> None:
    zh = detail_words("credentials refused (401 rejected admin:***); next login attempt in 60 s", "zh")
    assert zh == "认证被拒绝（401 rejected admin:***）；60 秒后再尝试登录"
    assert detail_words("", "zh") == ""


# --- every phrase of the probers has a row ---------------------------------------------------------

PROBES = Path(__file__).resolve().parents[2] / "probes"
# The modules whose texts become a stage's detail or an error shown like one (probes.enrich's); GB/T 28181
# and the simulator word none.
PROBERS = ("reach", "rtsp", "rtsp_conn", "rtsp_wire", "onvif", "onvif_http", "onvif_soap", "xmlsafe", "frame",
           "frame_grab", "frame_pool", "frame_worker", "progress", "stage_limit", "stages", "ladder", "kept", "enrich")
# Calls whose text argument is (part of) a detail.
MAKERS = {"RtspError", "ConnectionClosed", "Failed", "_Failed", "HttpError", "SoapError", "XmlError", "_AuthFailed",
          "_Stop", "_forbidden", "ProbeResult", "GrabReply", "EnrichError"}
# Functions whose returned text is (part of) a detail.
RETURNING = {"map_error", "classify", "classify_setup", "timeout_detail", "stall_detail", "_describe_ok", "_clock_detail", "_icmp"}
DETAIL_NAMES = {"detail", "what", "args"}
PASSING = {"redact_secrets", "strip", "rstrip", "append"}  # calls that hand their text on


def _templates(node: ast.AST | None) -> list[str]:
    """Regexes of the texts an expression makes (a formatted value: anything)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [re.escape(node.value)]
    if isinstance(node, ast.JoinedStr):
        return ["".join(re.escape(v.value) if isinstance(v, ast.Constant) else ".*" for v in node.values)]
    if isinstance(node, ast.BinOp):
        return _templates(node.left) + _templates(node.right)
    if isinstance(node, ast.IfExp):
        return _templates(node.body) + _templates(node.orelse)
    if isinstance(node, ast.Tuple | ast.List):
        return [t for e in node.elts for t in _templates(e)]
    if isinstance(node, ast.BoolOp):  # exc.strerror or "unreachable"
        return [t for v in node.values for t in _templates(v)]
    if isinstance(node, ast.Call):  # f"...".strip(), redact_secrets(f"...", secrets)
        inner = _templates(node.func.value) if isinstance(node.func, ast.Attribute) else []
        return inner + [t for a in node.args for t in _templates(a)] if _name(node.func) in PASSING else inner
    return []


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def prober_phrases() -> set[tuple[str, str]]:
    """(regex, where) of every text the probers put in a detail."""
    found: set[tuple[str, str]] = set()
    for module in PROBERS:
        tree = ast.parse((PROBES / f"{module}.py").read_text())
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            for arg, default in zip(fn.args.args[::-1], fn.args.defaults[::-1], strict=False):
                if arg.arg == "detail":
                    found.update((t, f"{module}:{fn.lineno}") for t in _templates(default))
            if fn.name in RETURNING:  # what it returns, and the parts it builds that from
                doc = fn.body[0] if ast.get_docstring(fn) is not None else None
                for part in ast.walk(fn):
                    if isinstance(part, ast.Return | ast.Assign | ast.Expr) and part is not doc:
                        found.update((t, f"{module}:{part.lineno}") for t in _templates(part.value))
        for node in ast.walk(tree):
            texts: list[str] = []
            if isinstance(node, ast.Call) and _name(node.func) in MAKERS:
                texts = [t for a in node.args for t in _templates(a)]
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {_name(e) for t in targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])
                         if isinstance(e, ast.Name | ast.Attribute)}
                if names & DETAIL_NAMES:
                    texts = _templates(node.value)
                elif names & {"_FAILURE_TEXT", "_PHRASES"} and isinstance(node.value, ast.Dict | ast.Tuple):
                    texts = [t for v in (node.value.values if isinstance(node.value, ast.Dict) else
                                         [e.elts[-1] for e in node.value.elts if isinstance(e, ast.Tuple)])
                             for t in _templates(v)]
            found.update((t, f"{module}:{getattr(node, 'lineno', 0)}") for t in texts)
    # only texts with words in them (not "; ", ": " or a bare "{a} {b}")
    return {(t, where) for t, where in found if re.search(r"[A-Za-z]{2}", t.replace(".*", ""))}


def test_every_phrase_of_the_probers_has_a_row() -> None:
    phrases = prober_phrases()
    assert len(phrases) > 100, len(phrases)  # the reader still finds them
    details = [d for d, _ in CASES]
    missing = sorted(f"{where}: {t}" for t, where in phrases if not any(re.search(t, d) for d in details))
    assert missing == [], "phrases of the probers without a row in CASES:\n" + "\n".join(missing)
