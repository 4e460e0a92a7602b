"""One gzip stream from pieces compressed apart (pure; no I/O): what lets ``/metrics`` recompress
only the parts of its text that changed since the last scrape.

Each piece is deflated on its own (raw deflate, ended by a sync flush: byte-aligned, no final
block) with its CRC-32 and length kept beside it. Raw deflate blocks can follow one another, so
the stream is a gzip header, the pieces in order, one final empty block, the CRC-32 of the whole
text and its length. The whole text's CRC-32 is combined from the pieces' without reading the
text again (:func:`crc32_combine`, zlib's algorithm: the first CRC multiplied by x^(8·len2)
modulo the CRC polynomial, in GF(2)). One stream with one member: every gzip reader takes it
(Prometheus's, curl's, Python's, aiohttp's).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

LEVEL = 1  # fastest: the text is very repetitive (label sets), level 1 already gives ~20x
_POLY = 0xEDB88320  # CRC-32 (reflected)
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no name, no mtime, unknown OS
_FINAL = b"\x03\x00"  # a final empty block (fixed Huffman): the end of the deflate stream


def _multmodp(a: int, b: int) -> int:
    """a·b modulo the CRC polynomial (reflected bit order, as zlib's ``multmodp``)."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _x2n_table() -> tuple[int, ...]:
    p, out = 1 << 30, []  # x^1
    for _ in range(32):
        out.append(p)
        p = _multmodp(p, p)
    return tuple(out)


_X2N = _x2n_table()  # x^(2^k) modulo the polynomial


def _slow_shift_op(length: int) -> int:
    p, k, n = 1 << 31, 3, length  # 1 (x^0)
    while n:
        if n & 1:
            p = _multmodp(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return p


_BYTE_OPS: list[tuple[int, ...]] = []  # [j][v]: x^(8·v·256^j), made at the first use (nothing at import time)


def shift_op(length: int) -> int:
    """x^(8·length) modulo the polynomial: what multiplies a CRC to append *length* bytes to it
    (one product per byte of *length*, from tables of 256 made once)."""
    if not _BYTE_OPS:
        _BYTE_OPS.extend(tuple(_slow_shift_op(v << (8 * j)) for v in range(256)) for j in range(4))
    p, j = 1 << 31, 0
    while length:
        if j == 4:
            return _multmodp(_slow_shift_op(length << 32), p)
        v = length & 0xFF
        if v:
            p = _multmodp(_BYTE_OPS[j][v], p)
        length >>= 8
        j += 1
    return p


def crc32_combine(crc1: int, crc2: int, len2: int, op: int | None = None) -> int:
    """The CRC-32 of a+b from crc32(a), crc32(b) and len(b) (*op*: :func:`shift_op` of len2, when known)."""
    return _multmodp(shift_op(len2) if op is None else op, crc1) ^ crc2


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of the text deflated on its own."""

    deflated: bytes
    crc: int
    length: int
    op: int  # shift_op(length): the CRC of what comes before is moved past this piece with it

    @classmethod
    def of(cls, raw: bytes, level: int = LEVEL) -> Piece:
        """Deflate *raw* (zlib drops the GIL while it works: call it from worker threads)."""
        c = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
        return cls(c.compress(raw) + c.flush(zlib.Z_SYNC_FLUSH), zlib.crc32(raw), len(raw), shift_op(len(raw)))


EMPTY = Piece(b"", 0, 0, 1 << 31)


def gzip_join(pieces: Iterable[Piece]) -> bytes:
    """The gzip stream of the pieces' texts one after another."""
    out, crc, size = [_HEADER], 0, 0
    for p in pieces:
        if p.length:
            out.append(p.deflated)
            crc = _multmodp(p.op, crc) ^ p.crc
            size += p.length
    out.append(_FINAL)
    out.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
    return b"".join(out)


__all__ = ["EMPTY", "LEVEL", "Piece", "crc32_combine", "gzip_join", "shift_op"]
