"""SOAP 1.2 bodies of the simulated ONVIF device and media services."""

from __future__ import annotations

import time

from probes.sim import h264
from probes.sim.identity import ONVIF_DEVICE_PATH, ONVIF_MEDIA_PATH
from probes.sim.state import CameraState

NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
NS_MEDIA = "http://www.onvif.org/ver10/media/wsdl"

_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"'
    f' xmlns:tds="{NS_DEVICE}" xmlns:trt="{NS_MEDIA}"'
    ' xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:ter="http://www.onvif.org/ver10/error">'
    "<env:Body>"
)
_CLOSE = "</env:Body></env:Envelope>"


def envelope(body: str) -> bytes:
    return (_OPEN + body + _CLOSE).encode()


def fault(code: str, subcode: str, reason: str) -> bytes:
    return envelope(
        "<env:Fault><env:Code>"
        f"<env:Value>env:{code}</env:Value>"
        f"<env:Subcode><env:Value>ter:{subcode}</env:Value></env:Subcode>"
        "</env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{reason}</env:Text></env:Reason>'
        "</env:Fault>"
    )


NOT_AUTHORIZED = fault("Sender", "NotAuthorized", "Sender not Authorized")
ACTION_NOT_SUPPORTED = fault("Receiver", "ActionNotSupported", "Optional Action Not Implemented")


def _datetime(t: float) -> str:
    tm = time.gmtime(t)
    # tt:DateTime is a sequence of Time, then Date.
    return (f"<tt:Time><tt:Hour>{tm.tm_hour}</tt:Hour><tt:Minute>{tm.tm_min}</tt:Minute>"
            f"<tt:Second>{tm.tm_sec}</tt:Second></tt:Time>"
            f"<tt:Date><tt:Year>{tm.tm_year}</tt:Year><tt:Month>{tm.tm_mon}</tt:Month>"
            f"<tt:Day>{tm.tm_mday}</tt:Day></tt:Date>")


def system_date_and_time(now: float, skew_s: float) -> bytes:
    cam_now = now + skew_s
    return envelope(
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        "<tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone>"
        f"<tt:UTCDateTime>{_datetime(cam_now)}</tt:UTCDateTime>"
        f"<tt:LocalDateTime>{_datetime(cam_now + 8 * 3600)}</tt:LocalDateTime>"
        "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def device_information(cam: CameraState) -> bytes:
    ident = cam.identity
    return envelope(
        "<tds:GetDeviceInformationResponse>"
        f"<tds:Manufacturer>{ident.manufacturer}</tds:Manufacturer>"
        f"<tds:Model>{ident.model}</tds:Model>"
        f"<tds:FirmwareVersion>{ident.firmware}</tds:FirmwareVersion>"
        f"<tds:SerialNumber>{ident.serial}</tds:SerialNumber>"
        f"<tds:HardwareId>{ident.hardware_id}</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def _base(cam: CameraState) -> str:
    return f"http://{cam.host}:{cam.onvif_port}"


def services(cam: CameraState) -> bytes:
    base = _base(cam)
    items = "".join(
        f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{base}{path}</tds:XAddr>"
        f"<tds:Version><tt:Major>{major}</tt:Major><tt:Minor>{minor}</tt:Minor></tds:Version>"
        "</tds:Service>"
        for ns, path, major, minor in (
            (NS_DEVICE, ONVIF_DEVICE_PATH, 2, 60),
            (NS_MEDIA, ONVIF_MEDIA_PATH, 2, 60),
        )
    )
    return envelope(f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>")


def capabilities(cam: CameraState) -> bytes:
    base = _base(cam)
    return envelope(
        "<tds:GetCapabilitiesResponse><tds:Capabilities>"
        f"<tt:Device><tt:XAddr>{base}{ONVIF_DEVICE_PATH}</tt:XAddr>"
        "<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false"
        "</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS>"
        "</tt:Network>"
        "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>false"
        "</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false"
        "</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false"
        "</tt:FirmwareUpgrade><tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor>"
        "</tt:SupportedVersions></tt:System>"
        "</tt:Device>"
        f"<tt:Media><tt:XAddr>{base}{ONVIF_MEDIA_PATH}</tt:XAddr>"
        "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>"
        "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
        "</tt:StreamingCapabilities></tt:Media>"
        "</tds:Capabilities></tds:GetCapabilitiesResponse>"
    )


def network_interfaces(cam: CameraState) -> bytes:
    return envelope(
        '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
        "<tt:Enabled>true</tt:Enabled>"
        f"<tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>{cam.identity.mac}</tt:HwAddress>"
        "<tt:MTU>1500</tt:MTU></tt:Info>"
        "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config>"
        f"<tt:Manual><tt:Address>{cam.host}</tt:Address><tt:PrefixLength>8</tt:PrefixLength>"
        "</tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
        "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
    )


def hostname(cam: CameraState) -> bytes:
    return envelope(
        "<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>"
        f"<tt:Name>cam{cam.index:06d}</tt:Name></tds:HostnameInformation>"
        "</tds:GetHostnameResponse>"
    )


def profiles(cam: CameraState) -> bytes:
    return envelope(
        '<trt:GetProfilesResponse><trt:Profiles token="Profile_1" fixed="true">'
        "<tt:Name>mainStream</tt:Name>"
        '<tt:VideoSourceConfiguration token="VideoSourceToken">'
        "<tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>1</tt:UseCount>"
        "<tt:SourceToken>VideoSource_1</tt:SourceToken>"
        f'<tt:Bounds x="0" y="0" width="{h264.WIDTH}" height="{h264.HEIGHT}"/>'
        "</tt:VideoSourceConfiguration>"
        '<tt:VideoEncoderConfiguration token="VideoEncoderToken_1">'
        "<tt:Name>VideoEncoder_1</tt:Name><tt:UseCount>1</tt:UseCount>"
        "<tt:Encoding>H264</tt:Encoding>"
        f"<tt:Resolution><tt:Width>{h264.WIDTH}</tt:Width><tt:Height>{h264.HEIGHT}</tt:Height>"
        "</tt:Resolution><tt:Quality>4</tt:Quality>"
        "<tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit>"
        "<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>4096</tt:BitrateLimit>"
        "</tt:RateControl>"
        "<tt:H264><tt:GovLength>50</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>"
        "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0"
        "</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL>"
        "<tt:AutoStart>false</tt:AutoStart></tt:Multicast>"
        "<tt:SessionTimeout>PT60S</tt:SessionTimeout>"
        "</tt:VideoEncoderConfiguration>"
        "</trt:Profiles></trt:GetProfilesResponse>"
    )


def _media_uri(tag: str, uri: str) -> bytes:
    return envelope(
        f"<trt:{tag}Response><trt:MediaUri><tt:Uri>{uri}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
        "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>"
        f"</trt:MediaUri></trt:{tag}Response>"
    )


def stream_uri(cam: CameraState) -> bytes:
    return _media_uri("GetStreamUri", f"rtsp://{cam.host}:{cam.rtsp_port}{cam.rtsp_path}")


def snapshot_uri(cam: CameraState) -> bytes:
    return _media_uri("GetSnapshotUri", f"{_base(cam)}/onvif/snapshot.jpg")
