"""Masking a password in a probe's detail without masking our own words (``camwatch probe``).

A password that is a common word (``open``, ``off``) or a number (``554``) masked everywhere in a
detail turned ``tcp 554 open`` into ``tcp 554 ***`` and ``clock offset`` into ``clock ***set``.
:func:`detail_mask` keeps our fixed words and numbers whole and masks every other occurrence, as
:func:`probes.redact.redact_secrets` does; the probers mask what a camera sent at the source
(:func:`probes.redact.camera_text`), this is the second layer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from probes.base import Stage
from probes.causes import Cause
from probes.checks import VqdName
from probes.detail_words import DETAIL_HEADS, DETAIL_WORDS, PHRASES, SYSTEM_WORDS
from probes.redact import redact_secrets, redact_url

Mask = Callable[[str], str]

_TOKEN = re.compile(r"[A-Za-z0-9]+")  # (a word or a number of a detail: "tcp", "offset", "8554", "640x360")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
_REGEX_SYNTAX = re.compile(r"\(\?P<\w+>|\[[^\]]*\]|\\.")  # (group names, classes, escapes: no words)


@functools.cache
def own_words() -> frozenset[str]:
    """The words we put in a detail or a warning: :mod:`probes.detail_words`', stages', causes', checks'."""
    texts = [*PHRASES, *DETAIL_HEADS, *SYSTEM_WORDS, *Stage, *Cause, *VqdName]
    texts += [_REGEX_SYNTAX.sub(" ", rx.pattern) for rx, _ in DETAIL_WORDS]
    return frozenset(w for t in texts for w in _TOKEN.findall(t) if not w.isdigit())


def _ours(text: str, m: re.Match[str], urls: list[tuple[int, int]]) -> bool:
    """Whether word or number *m* of *text* is ours: not in a URL, a percent-escape ("%3554"), nor where a
    credential stands ("admin:open", "pwd=open", "open@")."""
    before, after = text[max(0, m.start() - 3):m.start()], text[m.end():m.end() + 1]
    if "%" in before + after or before[-1:] in (":", "=") or after == "@" or any(a <= m.start() < b for a, b in urls):
        return False
    return m[0] in own_words()


def detail_mask(password: str | None) -> Mask:
    """A mask for a stage's detail or a warning: our own fixed words ("tcp 554 open", "clock
    offset +0.2 s") around what a camera sent, which its prober masked already
    (:func:`probes.redact.camera_text`). Text that does not depend on the password cannot disclose
    it: an occurrence inside one whole word of our vocabulary (:func:`own_words`) is kept, so
    ``open`` leaves ``tcp 554 open`` whole, ``off`` ``clock offset``. Numbers are not kept: the
    commonest camera passwords are numbers (123456, 888888), for which this second layer must stay
    whole; a password ``554`` still masks ``tcp 8***``. Any other occurrence is masked as
    :func:`probes.redact.redact_secrets` does: in a word not ours (a camera's), across words or
    punctuation, percent-encoded or JSON-escaped, in a URL, where a credential stands (``:open``,
    ``=open``, ``open@``), in any case (``OPEN`` too; a password of at most four characters in
    another case only as a whole word: ``live`` keeps ``LIVE555``), an echoed ``Authorization``
    value (``Basic ...``, a Digest ``response=``); URL credentials first. When in doubt (the
    mask touched a kept word), the whole text is masked: never leak."""
    def full(text: str) -> str:
        return redact_secrets(text, (password,))

    if not password or _TOKEN.fullmatch(password) is None:
        return full  # (a password with anything but letters and digits is inside no word of ours)

    folded = password.casefold()  # (the mask matches in any case: so does what it keeps)

    def mask(text: str) -> str:
        text = redact_url(text)
        urls = [m.span() for m in _URL.finditer(text)]
        kept = [m for m in _TOKEN.finditer(text) if folded in m[0].casefold() and _ours(text, m, urls)]
        hole = next((c for c in map(chr, range(0xE000, 0xF900)) if c not in text), None)  # (stands for a kept word)
        ends = [0, *(i for m in kept for i in m.span()), len(text)]  # (the text between kept words)
        pieces = full(hole.join(text[a:b] for a, b in zip(ends[::2], ends[1::2], strict=True))).split(hole) if kept and hole else []
        if len(pieces) != len(kept) + 1:  # (nothing kept, no hole free, or the mask touched a kept word)
            return full(text)
        return "".join(p + w for p, w in zip(pieces, [*(m[0] for m in kept), ""], strict=True))

    return mask
