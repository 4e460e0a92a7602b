"""Signal-loss screens of the VQD evaluation set (``tests/probes/vqd_scenes.py``): colour bars,
uniform screens and vendors' "no signal" screens, 640x360 float32 BGR."""

from __future__ import annotations

import cv2
import numpy as np

W, H = 640, 360
Img = np.ndarray


def _u8(img: Img) -> Img:
    return np.clip(img, 0, 255).astype(np.uint8)


def smpte_bars(ebu: bool = False) -> Img:
    """SMPTE RP 219-like 75 % bars (or full-height EBU bars) at 640x360."""
    top = [(180, 180, 180), (16, 180, 180), (180, 180, 16), (16, 180, 16), (180, 16, 180), (16, 16, 180), (180, 16, 16)]
    if ebu:
        top = [(235, 235, 235), *top[1:], (16, 16, 16)]
    img = np.zeros((H, W, 3), np.float32)
    edges = np.linspace(0, W, len(top) + 1).round().astype(int)
    for (b, g, r), x0, x1 in zip(top, edges[:-1], edges[1:], strict=True):
        img[:, x0:x1] = (b, g, r)
    if not ebu:
        y0, y1 = round(H * 0.67), round(H * 0.75)
        mid = [(180, 16, 16), (16, 16, 16), (180, 16, 180), (16, 16, 16), (16, 180, 180), (16, 16, 16), (180, 180, 180)]
        for (b, g, r), x0, x1 in zip(mid, edges[:-1], edges[1:], strict=True):
            img[y0:y1, x0:x1] = (b, g, r)
        img[y1:] = 16
        img[y1:, : W // 5] = (106, 57, 0)
        img[y1:, W // 5 : 2 * W // 5] = 235
        img[y1:, 2 * W // 5 : 3 * W // 5] = (140, 44, 58)
    return img


def _caption(img: Img, text: str, glyphs: int, color: tuple[int, int, int], clock: bool) -> Img:
    """A vendor's "no signal" caption in the middle (Latin text, or CJK-like glyph blocks)."""
    out = _u8(img)
    if text:
        size = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 2)[0]
        cv2.putText(out, text, ((W - size[0]) // 2, H // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.0, color, 2, cv2.LINE_AA)
    rng = np.random.default_rng(glyphs)
    x0 = (W - glyphs * 30) // 2
    for k in range(glyphs):  # 无视频信号: square glyphs of strokes
        gx, gy = x0 + 30 * k, H // 2 + 20
        for _ in range(5):
            if rng.random() < 0.5:
                y = gy + int(rng.integers(0, 24))
                cv2.line(out, (gx + 2, y), (gx + 24, y), color, 2)
            else:
                x = gx + int(rng.integers(2, 24))
                cv2.line(out, (x, gy), (x, gy + 24), color, 2)
    if clock:
        cv2.putText(out, "2026-12-03 08:15:42", (12, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (235, 235, 235), 1, cv2.LINE_AA)
    return out.astype(np.float32)


def screens() -> list[tuple[str, Img]]:
    """Signal-loss screens: colour bars, uniform screens, vendor "no signal" screens."""
    flat = lambda bgr: np.full((H, W, 3), bgr, np.float32)  # noqa: E731
    return [
        ("bars-smpte", smpte_bars()),
        ("bars-ebu", smpte_bars(ebu=True)),
        ("bars-smpte-caption", _caption(smpte_bars(), "NO SIGNAL", 0, (235, 235, 235), False)),
        ("uniform-blue", flat((200, 40, 16))),
        ("uniform-grey", flat((128, 128, 128))),
        ("uniform-green", flat((16, 160, 16))),
        ("uniform-white", flat((235, 235, 235))),
        ("nosignal-blue-en", _caption(flat((200, 40, 16)), "NO VIDEO", 0, (235, 235, 235), False)),
        ("nosignal-black-zh", _caption(flat((16, 16, 16)), "", 5, (235, 235, 235), True)),
        ("nosignal-grey-zh", _caption(flat((96, 96, 96)), "", 5, (16, 230, 230), True)),
        ("nosignal-blue-zh", _caption(flat((200, 40, 16)), "", 5, (235, 235, 235), True)),
    ]
