"""Redaction of credentials in anything we print, log, store or return.

:func:`redact_url` is the one place that knows where credentials sit in a URL;
:func:`redact_secrets` also masks secrets known by value (a camera's password a camera
echoes back, a channel's token) wherever they appear; :func:`camera_text` is the one way text a
camera sent (a reason phrase, a Server header, a fault) enters a probe's detail: masked first,
then cut, so a cut never leaves part of a password behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable
from urllib.parse import quote, unquote

MASK = "***"

# scheme://user:pass@host -> scheme://user:***@host; scheme://:pass@ too. scheme://user@host is
# kept (no password). The password runs to the last "@" before a "/" or a blank, so a password
# with ":" or "@" in it is masked whole, and any length of password is masked.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]*):[^/\s]*@")
# ?password=... / &pwd=... / ;token=...: query parameters whose name says they carry a secret; in
# a path too (XiongMai: /user=admin&password=...&channel=1, or /user=admin_password=..._channel=1,
# where "_" also separates them: the value then runs to the end, as a password may hold a "_").
_SECRET_NAMES = r"(?:password|passwd|pwd|pass|passphrase|secret|token|access_token|api_?key|key|sign|signature|access_key)"
_SECRET_PARAM = re.compile(rf"(?P<head>[?&;/_]{_SECRET_NAMES}=)(?P<value>[^&;#\s\"'<>]+)", re.IGNORECASE)


def redact_url(text: str) -> str:
    """*text* with the password of every URL in it (``user:pass@``, ``:pass@``) and the values of
    secret-named parameters (``password=``, ``pwd=``, ``token=``, ``key=``..., in a query or a
    camera's path) replaced by ``***``."""
    # (called for every RTSP probe: nothing is allocated for a URL with nothing to mask)
    if "@" in text:
        text = _USERINFO.sub(_masked_userinfo, text)
    if "=" in text:
        text = _SECRET_PARAM.sub(_masked_param, text)
    return text


def _masked_userinfo(m: re.Match[str]) -> str:
    return f"{m['head']}:{MASK}@"


def _masked_param(m: re.Match[str]) -> str:
    return m["head"] + MASK


def masked_secret(text: str) -> bool:
    """Whether a secret-named parameter of *text* (``password=``, ``pwd=``, ``token=``...) holds the
    mask ``***``: text that went through :func:`redact_url`, not a secret to use or store."""
    return MASK in text and any(MASK in m["value"] for m in _SECRET_PARAM.finditer(text))


def secret_forms(secret: str) -> set[str]:
    """A secret as it may appear in text: as it is, percent-encoded (as inside a URL) and
    JSON-escaped (a camera echoing a login in a JSON body: ``"`` and ``\\`` escaped, ``/`` as it is
    or as ``\\/`` (many camera JSON encoders escape it), and other than ASCII as ``\\uXXXX`` or as
    it is); each also upper- and lower-cased (a camera that changes the case of what it echoes: an
    SDP encoding name, a reason phrase). They are matched in any case (:func:`_mask_forms`); the
    case forms are there for letters whose case changes their length (``ß`` upper-cased is ``SS``)
    or their UTF-8 bytes (the percent-encoded form). A Basic token (``base64(user:password)``) is
    not a form of the password: a prober that knows the user passes it as a secret of its own
    (:func:`probes.rtsp.secrets_of`), and :func:`redact_auth` masks any ``Authorization`` value."""
    forms: set[str] = set()
    for s in _cases(secret):
        escaped = {json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1]}
        forms |= {s, quote(s, safe=""), quote(s), *escaped, *(e.replace("/", "\\/") for e in escaped)}
    return forms


def _cases(secret: str) -> set[str]:
    """*secret* as it is, upper-cased and lower-cased."""
    return {secret, secret.upper(), secret.lower()}


def _percent_pattern(secret: str) -> re.Pattern[str]:
    """*secret* with each character as it is (in either case) or percent-encoded in either case
    (``%2d`` as ``%2D``, ``-`` as ``%2D``): every way a URL may carry it."""
    def hexdigit(d: int) -> str:
        x = f"{d:X}"
        return f"[{x}{x.lower()}]" if x.isalpha() else x

    parts = []
    for ch in secret:
        enc = "".join(f"%{hexdigit(b >> 4)}{hexdigit(b & 15)}" for b in ch.encode())
        parts.append(f"(?:{re.escape(ch)}|{enc})")
    return re.compile("".join(parts), re.IGNORECASE)


def _forms_pattern(forms: set[str]) -> re.Pattern[str]:
    """Any of *forms*, longest first, in any case."""
    return re.compile("|".join(re.escape(f) for f in sorted(forms, key=lambda f: (-len(f), f))), re.IGNORECASE)


#: A password of at most this many characters is masked in another case only where it stands as a
#: whole word: ``live`` must not turn ``LIVE555 Streaming Media`` into ``***555 ...`` (in its own
#: case it is masked everywhere, as a longer one is in any case).
SHORT_SECRET = 4


def _decodings(found: str) -> set[str]:
    """What *found* (a form of a secret) may stand for: as it is, percent-decoded, JSON-unescaped."""
    out = {found}
    if "%" in found:
        out.add(unquote(found))
    if "\\" in found:
        try:
            value = json.loads(f'"{found}"')
        except ValueError:
            pass
        else:
            if isinstance(value, str):
                out.add(value)
    return out


def _masker(text: str, short: list[str]) -> Callable[[re.Match[str]], str]:
    """The replacement of a form found in *text*: the mask, except for a form of one of the *short*
    secrets in another case inside a longer run of letters and digits (``LIVE555``), kept."""
    def replace(m: re.Match[str]) -> str:
        found = m[0]
        decoded = _decodings(found)
        owners = [s for s in short if any(re.fullmatch(re.escape(f), found, re.IGNORECASE) for f in secret_forms(s))
                  or any(_percent_pattern(c).fullmatch(found) for c in _cases(s))]
        if not owners or any(s in decoded for s in owners):  # (a longer secret's, or in the secret's own case)
            return MASK
        before, after = text[m.start() - 1:m.start()], text[m.end():m.end() + 1]
        if before.isalnum() or after.isalnum():
            return found  # (another case, inside a word: "LIVE555" of the password "live")
        return MASK

    return replace


def _mask_forms(text: str, secrets: Iterable[str]) -> str:
    """Every form of each secret (:func:`secret_forms`, longest first) in *text* replaced by ``***``,
    in any case: a camera that upper-cases what it echoes (``H264-ADMIN:S3CRET-PW`` in an SDP
    encoding name, a reason phrase) must not get the password past the mask. Where *text* holds a
    ``%``, also percent-encodings of any of its characters, in any case. A password of at most
    :data:`SHORT_SECRET` characters is masked in its own case everywhere, in another case only
    where it stands as a whole word (not inside a longer run of letters and digits)."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return text
    short = [s for s in secrets if len(s) <= SHORT_SECRET]
    # (the forms are made and a pattern compiled only for text that may hold one: without a "%" or
    # a "\\", a form is the secret in one of its cases)
    if "%" in text or "\\" in text or _holds(text, secrets):
        pattern = _forms_pattern({f for s in secrets for f in secret_forms(s)})
        text = pattern.sub(_masker(text, short), text) if short else pattern.sub(MASK, text)
    if "%" in text:
        for s in secrets:
            for form in _cases(s):
                pattern = _percent_pattern(form)
                text = pattern.sub(_masker(text, short), text) if short else pattern.sub(MASK, text)
    return text


def _holds(text: str, secrets: list[str]) -> bool:
    """Whether *text* holds one of *secrets* in any case (the quick test before masking)."""
    folded = text.casefold()
    return any(c.casefold() in folded for s in secrets for c in _cases(s))


# An Authorization value a camera may echo (a reason phrase, a fault, a body quoting our request):
# "Basic <base64 of user:password>" (a token of 8+ characters, a multiple of 4 long, not one
# lower-case word: "basic auth" and "Basic authentication" are words), and a Digest answer's
# response="<hash>" (a hash of the password, open to guessing offline)
_BASIC = re.compile(r"(?P<head>\bBasic[ \t]+)(?P<value>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])", re.IGNORECASE)
_DIGEST_RESPONSE = re.compile(
    r"(?P<head>\bDigest[ \t][^\r\n]{0,600}?\bresponse[ \t]*=[ \t]*\"?)(?P<value>[^\",\s]+)", re.IGNORECASE)


def _masked_basic(m: re.Match[str]) -> str:
    value = m["value"]
    if len(value) % 4 or (value.isalpha() and value[1:].islower()):
        return m[0]  # (not base64 of a login: a word)
    return m["head"] + MASK


def redact_auth(text: str) -> str:
    """*text* with the token of a ``Basic`` Authorization value and the ``response`` of a
    ``Digest`` one replaced by ``***`` (whoever's credentials they carry)."""
    low = text.lower()
    if "basic" in low:
        text = _BASIC.sub(_masked_basic, text)
    if "digest" in low and "response" in low:
        text = _DIGEST_RESPONSE.sub(lambda m: m["head"] + MASK, text)
    return text


def redact_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """:func:`redact_url` and :func:`redact_auth`, then every occurrence of each secret (and its
    percent-encoded and JSON-escaped forms) replaced by ``***``, longest first, in any case (one of
    at most :data:`SHORT_SECRET` characters in another case only as a whole word). Every length
    counts: a one-character password is masked too, at the price of masking that character (in its
    own case) wherever it appears."""
    return _mask_forms(redact_auth(redact_url(text)), [s for s in secrets if s])


#: What a probe's detail (or a warning) that held a camera's password shows instead: all of it goes,
#: not the password's place in it (in Chinese: :mod:`probes.detail_words`).
WITHHELD = "(the camera's reply contained its password: detail not shown)"
# the masks redact_url and redact_auth put where a credential stands, whatever its value
_STRUCTURAL = re.compile(
    rf":\*\*\*@|[?&;/_]{_SECRET_NAMES}=\*\*\*|\bBasic[ \t]+\*\*\*|\bresponse[ \t]*=[ \t]*\"?\*\*\*", re.IGNORECASE)


_TOKEN = re.compile(r"[A-Za-z0-9]+")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")


def shown_detail(text: str, secrets: Iterable[str | None], ours: Collection[str] = frozenset()) -> str:
    """A probe stage's detail or a warning line, made safe to show: credentials redacted where they
    stand (:func:`redact_url`, :func:`redact_auth`, whatever their value), and the whole text
    replaced by :data:`WITHHELD` where one of *secrets* is in it (the rules of :func:`redact_secrets`:
    any form, any case; one of at most :data:`SHORT_SECRET` characters in another case only as a
    whole word) or where an earlier layer masked one (a ``***`` not where a credential stands).
    Never a ``***`` at the password's place: in text the reader can guess ("H264 640x360",
    "tcp 8554 open") that place would spell the password out. Our own words are never altered
    by the password's value: a word of *ours* (a whole word: ``open`` of ``tcp 554 open``, not in a
    URL nor where a credential stands, ``:open``, ``open@``) is not looked at; a password found
    elsewhere in our words (a number: ``8554``, ``360``) hides the detail it is in."""
    given = [s for s in secrets if s]
    text = redact_auth(redact_url(text))
    if MASK in text and MASK in _STRUCTURAL.sub("", text):
        return WITHHELD
    if not given:
        return text
    rest = text
    if ours:
        folded = [s.casefold() for s in given]
        urls = [m.span() for m in _URL.finditer(text)] if "://" in text else []
        rest = _TOKEN.sub(lambda m: "\ue000" if _ours(text, m, urls, ours) and any(f in m[0].casefold() for f in folded)
                          else m[0], text)
    return WITHHELD if _mask_forms(rest, given) != rest else text


def _ours(text: str, m: re.Match[str], urls: list[tuple[int, int]], ours: Collection[str]) -> bool:
    """Whether word *m* of *text* is one of *ours*, where no credential stands: not in a URL, a
    percent-escape ("%3554"), after ":" or "=", before "@"."""
    before, after = text[max(0, m.start() - 3):m.start()], text[m.end():m.end() + 1]
    if "%" in before + after or before[-1:] in (":", "=") or after == "@" or any(a <= m.start() < b for a, b in urls):
        return False
    return m[0] in ours


#: Characters of camera text looked at for URLs with credentials beyond the part shown (the URL
#: regex is quadratic on hostile input: it never sees more than the shown part and this).
_URL_LOOKAHEAD = 256


def camera_text(text: str, secrets: Iterable[str | None] = (), limit: int = 120) -> str:
    """*text* a camera sent, made safe to show: every secret (and its percent-encoded forms)
    masked in the whole text, in any case, then URL credentials (:func:`redact_url`), then non-printable
    characters replaced by ``?``, and only then cut to *limit* characters: a cut can never leave
    part of a password behind (a camera repeating our credentials in its reason phrase)."""
    given = [s for s in secrets if s]
    if (len(text) <= limit and "%" not in text and "@" not in text and "=" not in text and "\\" not in text
            and not _holds(text, given) and text.isprintable() and _BASIC.search(text) is None):
        return text  # (the common case, a healthy camera's Server header: nothing to mask or cut)
    text = _mask_forms(text, given)  # (a percent-encoded form has a "%", a JSON-escaped one a "\\")
    text = redact_auth(redact_url(text[: limit + _URL_LOOKAHEAD]))
    if not text.isprintable():
        text = "".join(c if c.isprintable() else "?" for c in text)
    return text[:limit]
