"""The onvif prober against a loopback ONVIF server of our own (edge cases)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest

from probes.base import PROBERS, Cause, ProbeTarget, Stage
from probes.onvif import DeviceIdentity, OnvifInfo, OnvifOptions, probe
from tests.probes.onvif_server import ACTION_FAILED, BILLION_LAUGHS, EXTERNAL_ENTITY, OnvifTestServer

PASSWORD = "s3cret-pw"


@pytest.fixture
async def server() -> AsyncIterator[OnvifTestServer]:
    srv = await OnvifTestServer().start()
    try:
        yield srv
    finally:
        await srv.close()


def target(srv: OnvifTestServer, password: str | None = PASSWORD,
           username: str | None = "admin") -> ProbeTarget:
    return ProbeTarget("127.0.0.1", 1, onvif_port=srv.port, username=username, password=password)


def kinds(srv: OnvifTestServer) -> list[tuple[str, str | None, bool]]:
    return [(s.action, s.password_type, s.accepted) for s in srv.seen]


def test_registered() -> None:
    assert PROBERS[Stage.ONVIF] is probe


async def test_clock_and_identity_on_one_connection(server: OnvifTestServer) -> None:
    r = await probe(target(server), OnvifOptions())
    assert r.ok and r.cause is None and r.stage is Stage.ONVIF
    assert isinstance(r.data, OnvifInfo)
    assert r.data.clock_offset_s is not None and abs(r.data.clock_offset_s) < 1.0
    assert r.data.device == DeviceIdentity("Acme & Co", "X-1", "1.2.3", "SN42", "HW7")
    assert kinds(server) == [("GetSystemDateAndTime", None, True),
                             ("GetDeviceInformation", "PasswordDigest", True)]
    assert server.connections == 1  # kept alive between the two calls
    assert "Acme & Co X-1 1.2.3" in r.detail


async def test_disabled_when_no_onvif_port() -> None:
    r = await probe(ProbeTarget("127.0.0.1", onvif_port=None), OnvifOptions())
    assert r.ok and r.detail == "onvif disabled" and r.data is None


async def test_device_info_can_be_skipped(server: OnvifTestServer) -> None:
    r = await probe(target(server), OnvifOptions(device_info=False))
    assert r.ok and r.data.device is None and r.data.clock_offset_s is not None
    assert kinds(server) == [("GetSystemDateAndTime", None, True)]


async def test_no_credentials_gives_the_clock_only(server: OnvifTestServer) -> None:
    r = await probe(target(server, password=None, username=None), OnvifOptions())
    assert r.ok and r.data.device is None and len(server.seen) == 1


async def test_wrong_password_is_not_authorized(server: OnvifTestServer) -> None:
    r = await probe(target(server, password="wrong-pw-123"), OnvifOptions())
    assert not r.ok and r.cause is Cause.ONVIF_AUTH_FAILED
    assert "NotAuthorized" in r.detail
    assert r.data.clock_offset_s is not None  # the clock worked before the refusal
    # digest refused, then PasswordText refused: two failed logins, no more
    assert kinds(server)[1:] == [("GetDeviceInformation", "PasswordDigest", False),
                                 ("GetDeviceInformation", "PasswordText", False)]
    assert "wrong-pw-123" not in repr(r) and PASSWORD not in repr(r)


async def test_http_401_without_fault_body(server: OnvifTestServer) -> None:
    server.behave.auth_status = 401
    server.behave.auth_body = False
    r = await probe(target(server, password="wrong-pw-123"), OnvifOptions())
    assert r.cause is Cause.ONVIF_AUTH_FAILED and "HTTP 401" in r.detail


async def test_clock_behind_auth_is_retried_with_a_token(server: OnvifTestServer) -> None:
    server.behave.time_needs_auth = True
    opts = OnvifOptions()
    r = await probe(target(server), opts)
    assert r.ok and abs(r.data.clock_offset_s) < 1.0 and r.data.device is not None
    assert kinds(server) == [("GetSystemDateAndTime", None, False),
                             ("GetSystemDateAndTime", "PasswordDigest", True),
                             ("GetDeviceInformation", "PasswordDigest", True)]
    server.seen.clear()
    r = await probe(target(server), opts)  # learned: no unauthenticated attempt any more
    assert r.ok
    assert kinds(server) == [("GetSystemDateAndTime", "PasswordDigest", True),
                             ("GetDeviceInformation", "PasswordDigest", True)]


async def test_clock_behind_auth_without_credentials(server: OnvifTestServer) -> None:
    server.behave.time_needs_auth = True
    r = await probe(target(server, password=None, username=None), OnvifOptions())
    assert r.cause is Cause.ONVIF_AUTH_FAILED and "none given" in r.detail


async def test_digest_refused_text_accepted(server: OnvifTestServer) -> None:
    server.behave.accept_digest = False
    opts = OnvifOptions()
    r = await probe(target(server), opts)
    assert r.ok and r.data.device is not None
    assert kinds(server)[1:] == [("GetDeviceInformation", "PasswordDigest", False),
                                 ("GetDeviceInformation", "PasswordText", True)]
    server.seen.clear()
    assert (await probe(target(server), opts)).ok  # learned: PasswordText first
    assert kinds(server)[1:] == [("GetDeviceInformation", "PasswordText", True)]


async def test_text_fallback_can_be_disabled(server: OnvifTestServer) -> None:
    server.behave.accept_digest = False
    r = await probe(target(server), OnvifOptions(password_text_fallback=False))
    assert r.cause is Cause.ONVIF_AUTH_FAILED
    assert all(s.password_type != "PasswordText" for s in server.seen)


@pytest.mark.parametrize("skew", [3600.0, -7200.0])
async def test_clock_skew_measured_and_created_shifted(server: OnvifTestServer,
                                                       skew: float) -> None:
    server.behave.skew_s = skew
    server.behave.created_tolerance_s = 2.0
    server.behave.accept_text = False  # only a digest with a well-shifted Created passes
    r = await probe(target(server), OnvifOptions())
    assert r.ok, r.detail
    assert abs(r.data.clock_offset_s - skew) < 1.0
    assert r.data.device is not None  # the shifted Created passed the skewed clock check
    created = server.seen[-1].created
    assert created is not None
    stamp = time.mktime(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert abs(stamp - (time.time() + skew)) < 3.0


async def test_skewed_clock_behind_auth_uses_the_date_header(server: OnvifTestServer) -> None:
    server.behave.skew_s = 3600.0
    server.behave.time_needs_auth = True
    server.behave.accept_text = False
    r = await probe(target(server), OnvifOptions())
    assert r.ok, r.detail
    assert abs(r.data.clock_offset_s - 3600.0) < 1.0
    assert kinds(server)[1] == ("GetSystemDateAndTime", "PasswordDigest", True)


async def test_skewed_clock_behind_auth_without_date_falls_back_to_text(
        server: OnvifTestServer) -> None:
    server.behave.skew_s = 3600.0
    server.behave.time_needs_auth = True
    server.behave.send_date = False
    opts = OnvifOptions()
    r = await probe(target(server), opts)
    assert r.ok, r.detail
    assert abs(r.data.clock_offset_s - 3600.0) < 1.0
    # With the offset known, the next probe's digest is accepted on the first try.
    server.seen.clear()
    assert (await probe(target(server), opts)).ok
    assert kinds(server) == [("GetSystemDateAndTime", "PasswordDigest", True),
                             ("GetDeviceInformation", "PasswordDigest", True)]


async def test_oversized_reply(server: OnvifTestServer) -> None:
    server.behave.canned = (200, "<a>" + "x" * 300_000 + "</a>")
    r = await probe(target(server), OnvifOptions())
    assert r.cause is Cause.ONVIF_ERROR and "exceeds the cap" in r.detail


async def test_oversized_chunked_reply(server: OnvifTestServer) -> None:
    server.behave.canned = (200, "<a>" + "x" * 300_000 + "</a>")
    server.behave.chunked = True
    r = await probe(target(server), OnvifOptions())
    assert r.cause is Cause.ONVIF_ERROR and "larger than" in r.detail


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL_ENTITY])
async def test_dtd_and_entities_rejected(server: OnvifTestServer, doc: str) -> None:
    server.behave.canned = (200, doc)
    started = time.perf_counter()
    r = await probe(target(server), OnvifOptions())
    assert r.cause is Cause.ONVIF_ERROR and "DTD" in r.detail
    assert time.perf_counter() - started < 1.0  # nothing was expanded


@pytest.mark.parametrize("status,body,needle", [
    (200, "this is not xml", "malformed XML"),
    (200, "<html><body>hello</body></html>", "not a SOAP envelope"),
    (500, "", "HTTP 500"),
    (500, ACTION_FAILED, "ActionNotSupported"),
    (200, ACTION_FAILED, "ActionNotSupported"),
])
async def test_errors(server: OnvifTestServer, status: int, body: str, needle: str) -> None:
    server.behave.canned = (status, body)
    r = await probe(target(server), OnvifOptions())
    assert r.cause is Cause.ONVIF_ERROR and needle in r.detail, r.detail


async def test_garbage_instead_of_http(server: OnvifTestServer) -> None:
    server.behave.raw = bytes(range(256)) * 4 + b"\r\n\r\n"
    r = await probe(target(server), OnvifOptions())
    assert r.cause is Cause.ONVIF_ERROR and "not an HTTP reply" in r.detail


async def test_closed_mid_reply(server: OnvifTestServer) -> None:
    server.behave.raw = b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<env:"
    r = await probe(target(server), OnvifOptions())
    assert r.cause is Cause.ONVIF_ERROR and "closed" in r.detail


async def test_chunked_and_connection_close(server: OnvifTestServer) -> None:
    server.behave.chunked = True
    server.behave.close_after_reply = True
    r = await probe(target(server), OnvifOptions())
    assert r.ok and r.data.device is not None
    assert server.connections == 2  # reconnected after Connection: close


async def test_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        r = await probe(ProbeTarget("127.0.0.1", onvif_port=port), OnvifOptions())
    assert r.cause is Cause.ONVIF_ERROR and r.detail == "connection refused"


async def test_hang_under_the_callers_timeout(server: OnvifTestServer) -> None:
    server.behave.hang = True
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await probe(target(server), OnvifOptions())
    assert time.perf_counter() - started < 1.0


async def test_hang_under_the_backstop(server: OnvifTestServer) -> None:
    server.behave.hang = True
    r = await probe(target(server), OnvifOptions(io_timeout_s=0.2))
    assert r.cause is Cause.ONVIF_ERROR and r.detail == "timed out"
