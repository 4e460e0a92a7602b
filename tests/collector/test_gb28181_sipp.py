"""The access platform against an independent SIP implementation: SIPp (Debian ``sip-tester``)
plays a GB/T 28181 camera from a scenario: REGISTER answered with its own Digest code, a catalog
with one channel OFF, a keepalive.
A second scenario brings a wrong password and expects 403.
Not skipped where ``sipp`` is missing: CI installs it (.ci/setup), and a missing one fails here."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.platform import Platform
from collector.gb28181.state import GbVerdict
from tests.net import free_port

DEV = "34020000001320000031"
CH = "34020000001310000031"
HEAD = """Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
From: <sip:{dev}@3402000000>;tag=[pid]SIPpTag00[call_number]
Call-ID: [call_id]
Max-Forwards: 70"""


def _register(cseq: int, auth: str) -> str:
    return f"""  <send retrans="500"><![CDATA[
REGISTER sip:34020000002000000001@3402000000 SIP/2.0
{HEAD}
To: <sip:{{dev}}@3402000000>
CSeq: {cseq} REGISTER
Contact: <sip:{{dev}}@[local_ip]:[local_port]>
{auth}Expires: 3600
Content-Length: 0

]]></send>
"""


def _message(cseq: int, body: str) -> str:
    return f"""  <send retrans="500"><![CDATA[
MESSAGE sip:34020000002000000001@3402000000 SIP/2.0
{HEAD}
To: <sip:34020000002000000001@3402000000>
CSeq: {cseq} MESSAGE
Content-Type: Application/MANSCDP+xml
Content-Length: [len]

{body}
]]></send>
  <recv response="200"/>
"""


CATALOG = ('<?xml version="1.0" encoding="GB2312"?>\r\n<Response>\r\n<CmdType>Catalog</CmdType>\r\n<SN>1</SN>\r\n'
           "<DeviceID>{dev}</DeviceID>\r\n<SumNum>1</SumNum>\r\n<DeviceList Num=\"1\">\r\n<Item>\r\n"
           "<DeviceID>{ch}</DeviceID>\r\n<Name>Gate</Name>\r\n<Manufacturer>SIPp</Manufacturer>\r\n"
           "<CivilCode>340200</CivilCode>\r\n<Parental>0</Parental>\r\n<ParentID>{dev}</ParentID>\r\n"
           "<Status>OFF</Status>\r\n</Item>\r\n</DeviceList>\r\n</Response>")
KEEPALIVE = ('<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\r\n<CmdType>Keepalive</CmdType>\r\n<SN>2</SN>\r\n'
             "<DeviceID>{dev}</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>")


def scenario(password: str, *, good: bool) -> str:
    steps = _register(1, "") + '  <recv response="401" auth="true"/>\n'
    steps += _register(2, f"[authentication username={{dev}} password={password}]\n")
    if good:
        # The platform's Catalog and DeviceInfo queries come in dialogs of their own, which a SIPp
        # client call cannot take (SIPp logs them as not mapped to a call): the catalog is sent
        # unasked, as devices that push their catalog after registering do.
        steps += '  <recv response="200"/>\n' + _message(3, CATALOG) + _message(4, KEEPALIVE)
    else:
        steps += '  <recv response="403"/>\n'
    xml = f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="GB/T 28181 camera">\n{steps}</scenario>\n'
    return xml.replace("{dev}", DEV).replace("{ch}", CH)


async def run_sipp(tmp_path: Path, host: str, port: int, xml: str) -> tuple[int, str]:
    (tmp_path / "scenario.xml").write_text(xml, encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        "sipp", f"{host}:{port}", "-sf", "scenario.xml", "-m", "1", "-i", "127.0.0.1", "-p", str(free_port()),
        "-timeout", "30s", "-nostdin", "-trace_err", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    errors = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*errors.log"))
    return proc.returncode or 0, out.decode(errors="replace")[-800:] + errors


async def test_sipp_camera_registers_sends_its_catalog_and_keeps_alive(tmp_path: Path) -> None:
    settings = Gb28181Settings(host="127.0.0.1", port=0, password="sipp-Pw-1", transports=["udp"])
    platform = Platform(settings)
    events: list[object] = []
    platform.registry.subscribe(events.append)
    await platform.start()
    try:
        code, out = await run_sipp(tmp_path, *platform.addresses["udp"], scenario("sipp-Pw-1", good=True))
        assert code == 0, out
        dev = platform.registry.device(DEV)
        assert dev is not None and dev.last_keepalive is not None and dev.catalog_at is not None
        assert dev.channels[CH].name == "Gate" and platform.registry.verdict(DEV) is GbVerdict.ONLINE
        assert platform.registry.channel_verdict(DEV, CH) is GbVerdict.CHANNEL_OFF
        assert platform.stats.auth_failures == 0 and platform.stats.keepalives == 1
    finally:
        await platform.close()


async def test_sipp_with_a_wrong_password_gets_403(tmp_path: Path) -> None:
    settings = Gb28181Settings(host="127.0.0.1", port=0, password="right-one", transports=["udp"])
    platform = Platform(settings)
    await platform.start()
    try:
        code, out = await run_sipp(tmp_path, *platform.addresses["udp"], scenario("wrong-one", good=False))
        assert code == 0, out
        assert platform.stats.auth_failures == 1 and platform.registry.device(DEV) is None
    finally:
        await platform.close()
