"""Why the platform refused a device, told in the log in words an integrator can act on, and
told once: a device retrying a wrong setting every few seconds (or a flood from one address)
writes one line per device, reason and ``every_s``, not one per message.

The words name the device ID, the source address and the setting to change (the device's SIP
server domain, its SIP user name, gb28181.password ...); never a password, a Digest response
or a nonce. Text a device sent (its user name, its realm) is shown cut short and printable.

Every refusal is also counted by its reason (:class:`~collector.gb28181.counters.Refusal`, in the
platform's :class:`~collector.gb28181.counters.PlatformStats`), logged or not.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.counters import PlatformStats, Refusal
from collector.gb28181.state import DeviceState
from probes.gb28181.digest import parse_authorization
from probes.gb28181.manscdp import Catalog
from probes.gb28181.sip import SipError
from probes.gb28181.transport import Peer

log = logging.getLogger("camwatch.gb28181")
_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"'<>]{0,40})["']""")
MAX_KEYS = 10_000  # (device or address, reason) pairs remembered


def shown(text: str, limit: int = 40) -> str:
    """Text a device sent, safe for a log line: printable, at most *limit* characters, quoted."""
    clean = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return repr(clean + ("..." if len(text) > limit else ""))


class Told:
    """Remembers what was logged lately: :meth:`due` is True once per key every *every_s*."""

    def __init__(self, every_s: float, max_keys: int = MAX_KEYS) -> None:
        self.every_s = every_s
        self.max_keys = max_keys
        self._at: OrderedDict[tuple[str, ...], float] = OrderedDict()
        self._missed: dict[tuple[str, ...], int] = {}  # not told since the last line (keys of _at only)

    def due(self, key: tuple[str, ...], now: float) -> bool:
        at = self._at.get(key)
        if at is not None and now - at < self.every_s:
            self._missed[key] = self._missed.get(key, 0) + 1
            return False
        self._at[key] = now
        self._at.move_to_end(key)
        while len(self._at) > self.max_keys:
            self._missed.pop(self._at.popitem(last=False)[0], None)
        return True

    def missed(self, key: tuple[str, ...]) -> int:
        """How many were not told under *key* since its last line (and start counting again)."""
        return self._missed.pop(key, 0)


def tell(told: Told, key: tuple[str, ...], now: float, text: str, *args: object) -> None:
    """Once per key every ``told.every_s``; keyed by the sender's address where the device ID is
    the sender's choice (a flood of made-up IDs: one line), with the count not told."""
    if told.due(key, now):
        missed = told.missed(key)
        if missed:
            text += " (and %d more like it from this address since the last such line)"
            args = (*args, missed)
        log.warning("gb28181: " + text, *args)


def auth_problem(value: str, *, realm: str, device_id: str) -> str | None:
    """Why a Digest answer could not be checked, when the device's settings are the cause (a
    realm other than ours, a user name other than its ID, an algorithm other than MD5); None
    when it is a nonce matter (expired, or issued before camwatch restarted), which the
    device mends by itself with the next challenge."""
    try:
        p = parse_authorization(value)
    except SipError:
        return "its Authorization is not a Digest answer"
    got_realm = p.get("realm")
    if got_realm is not None and got_realm != realm:
        return (f"its Digest realm {shown(got_realm)} is not camwatch's SIP domain {realm!r} "
                "(set the device's SIP server domain / 域编码 to gb28181.domain)")
    user = p.get("username")
    if user is not None and user != device_id:
        return (f"its SIP user name {shown(user)} is not its device ID "
                "(the SIP user name / 设备编号 must be the device's 20-digit ID)")
    algorithm = p.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        return f"its Digest algorithm {shown(algorithm)} is not MD5 (GB/T 28181 registration uses MD5)"
    return None


def declared_encoding(body: bytes) -> str:
    """`` (declared encoding 'X')`` of a body's XML declaration, or nothing."""
    m = _DECL.match(body[:200])
    return "" if m is None else f" (declared encoding {shown(m.group(1).decode('ascii', 'replace'))})"


class Refusals:
    """The platform's refusals, each logged once per device (or address) and reason every ``auth_block_s``."""

    def __init__(self, settings: Gb28181Settings, stats: PlatformStats) -> None:
        self._told = Told(settings.auth_block_s)
        self.failures = settings.auth_failures
        self._stats = stats

    def _tell(self, key: tuple[str, ...], now: float, text: str, *args: object) -> None:
        tell(self._told, key, now, text, *args)

    def bad_id(self, peer: Peer, user: str, now: float) -> None:
        self._stats.refusal(Refusal.BAD_ID)
        self._tell(("id", peer.host), now, "REGISTER from %s %s refused (400): its device ID %s (the user of From) "
                   "is not 20 digits; set the device's 设备编号 / SIP user ID to its 20-digit GB/T 28181 ID",
                   peer.transport, peer.host, shown(user))

    def blocked(self, peer: Peer, device_id: str, wait_s: float, now: float, *, known: bool) -> None:
        """Once per address, and once per device the platform knows (a flood of made-up IDs: one line)."""
        self._stats.refusal(Refusal.BLOCKED)
        key = ("blocked", peer.host, device_id) if known else ("blocked", peer.host)
        self._tell(key, now, "REGISTER of %s from %s refused (403): the address is blocked for "
                   "%d s more after %d wrong passwords from it (every device behind it is refused until then)",
                   device_id, peer.host, int(wait_s) + 1, self.failures)

    def no_password(self, peer: Peer, device_id: str, now: float) -> None:
        self._stats.refusal(Refusal.NO_PASSWORD)
        self._tell(("nopw", peer.host), now, "REGISTER of %s from %s refused (403): no password to check it against "
                   "(no inventory password for this 国标编码, and gb28181.password is not set or unavailable)",
                   device_id, peer.host)

    def unchecked(self, peer: Peer, device_id: str, authorization: str, realm: str, now: float) -> None:
        why = auth_problem(authorization, realm=realm, device_id=device_id)
        if why is not None:  # (a nonce matter is not counted: the device mends it with the next challenge)
            self._stats.refusal(Refusal.BAD_DIGEST)
            self._tell(("auth", peer.host, why.split("'", 1)[0]), now, "REGISTER of %s from %s refused (401): %s",
                       device_id, peer.host, why)

    def too_brief(self, peer: Peer, device_id: str, expires: int, least: int, now: float) -> None:
        self._stats.refusal(Refusal.TOO_BRIEF)
        self._tell(("brief", peer.host), now, "REGISTER of %s from %s refused (423): it asks %d s, less than "
                   "gb28181.min_expires_s (%d s); set the device's 注册有效期 to %d s or more",
                   device_id, peer.host, expires, least, least)

    def wrong_password(self, peer: Peer, device_id: str, source: str, blocked_s: float) -> None:
        """Every time (the throttle bounds them): the password checked, and the block it brought."""
        log.warning("gb28181: wrong password for %s from %s (checked against %s)", device_id, peer.host, source)
        if blocked_s > 0:
            log.warning("gb28181: %s blocked for %d s after %d wrong passwords: no device behind it can register "
                        "until then (gb28181.auth_failures, auth_block_s)", peer.host, int(blocked_s) + 1, self.failures)

    def moved(self, peer: Peer, old: DeviceState, now: float) -> None:
        """A registration in force renewed from another address than its own."""
        was = old.peer
        if old.registered and was is not None and was.host != peer.host:
            self._tell(("moved", old.device_id), now, "%s registered again from %s %s:%d while registered from %s:%d: "
                       "it moved (a new address), or two devices are set to the same ID (they take turns)",
                       old.device_id, peer.transport, peer.host, peer.port, was.host, was.port)

    def elsewhere(self, peer: Peer, device_id: str, known: DeviceState | None, now: float) -> None:
        """A message refused (403); told when the device is registered from another address."""
        there = known.peer if known is not None and known.registered and now < known.expires_at else None
        elsewhere = there is not None and there.host != peer.host
        self._stats.refusal(Refusal.OTHER_ADDRESS if elsewhere else Refusal.NOT_REGISTERED)
        if there is not None and elsewhere:
            self._tell(("elsewhere", peer.host), now, "%s from %s refused (403): the device is registered "
                       "from %s (two devices set to the same ID?)", device_id, peer.host, there.host)

    def replayed(self, peer: Peer, device_id: str, now: float) -> None:
        """A REGISTER repeating the Call-ID and CSeq already accepted, from another address."""
        self._stats.refusal(Refusal.BAD_DIGEST)
        self._tell(("replay", peer.host), now, "REGISTER of %s from %s refused (401): it repeats the Call-ID and "
                   "CSeq of the REGISTER already accepted from another address (a replay?)", device_id, peer.host)

    def catalog(self, peer: Peer, cat: Catalog, device_id: str, now: float) -> None:
        """A catalog read in part: items left out (each reason once per device a while), or a total
        that is not a number (its listing then drops no channel)."""
        for why in dict.fromkeys(cat.skipped):
            self._tell(("item", device_id, why), now, "%s from %s: %s in its catalog was left out (the other items "
                       "are read; a channel it may stand for is not taken as gone)", device_id, peer.host, why)
        if not cat.notify and cat.sum_num is None:
            self._tell(("sumnum", device_id), now, "%s from %s: its catalog's SumNum or SN is not a number: its "
                       "channels are read, but the listing is of unknown total (no channel is taken as gone)",
                       device_id, peer.host)

    def body(self, peer: Peer, device_id: str, method: str, problem: str, body: bytes, now: float) -> None:
        self._stats.refusal(Refusal.BAD_BODY)
        who = device_id if len(device_id) == 20 and device_id.isascii() and device_id.isdigit() else shown(device_id)
        self._tell(("body", peer.host), now, "%s from %s: its %s body was refused (400), so what it told (e.g. its "
                   "catalog) is not known: %s%s", who, peer.host, method, problem,
                   declared_encoding(body))
