"""A tiny pre-encoded H.264 picture (SMPTE HD colour bars, 1920x1080, Main profile).

Encoded once with ``ffmpeg -f lavfi -i smptehdbars=size=1920x1080 -frames:v 1 -c:v libx264
-profile:v main -qp 30`` and stripped of its SEI NAL unit. The simulator advertises the SPS/PPS in
the SDP (``sprop-parameter-sets``) and, after PLAY, repeats the IDR picture over RTP so decoders
(ffprobe, OpenCV) get a real frame.
"""

from __future__ import annotations

import base64

WIDTH = 1920
HEIGHT = 1080
SPS_B64 = "Z01AKNwHgCJ+XARAAAADAEAAAAyDxgzg"
PPS_B64 = "aO4ESyA="
# profile_idc, constraint flags, level_idc: bytes 1..3 of the SPS.
PROFILE_LEVEL_ID = "4d4028"
_IDR_B64 = (
    "ZYiEP/613zKUBKDeYVWWHZOGO+9CaZMAhVUoAAALpJC9m4d3FHDBGxYoPDtTzL2zJK22qcIcAAFdR09r+qX4"
    "0nVwnyNiqE045/iaJrCOKk8sQXXVgQGuE4uD8ess4YUPBrHVGZ2R6caszErE86yETGXsjLZLvqZyJeTEk3n9"
    "0SEnaSwSLWCRgOwolGhZEqcLPujOhw3wuz3kMDKV5jwp7gsqf2t6hl6zfYk0MsAHlO0Rpx6jtkdZFj+aIUTA"
    "8RgZZUXGAAbCyi7qMhc2nBv6+kO/oXNSHw2jXp+dKPxQECv0q7R9qLLT+myIFRkFotBXcnjpFKPYCZaL0dc4"
    "B+dATLRIohngSz4CZaGFtwnoAVzCpmszEFdDC2YVMy3xoKF9FAmWf+MaChfRQJlnzimgoX0UCZZ9IpoKF9FA"
    "mWfSKaChfRQJllwj/ooX0UCZZcI/6KF9FAmWXCP+ihfRQJllwnvooX0UCZZcKX6KF9FAmWXCh+ihfRQJllwo"
    "vooX0UCZZcKz6KF9FAmWXC0oX0UL5hUwA+NBQvooEyy4V1C+ihfMKmAIf6KF9FAmWXC3oX0UL5hUwBBNBQvo"
    "oEyy4ZdC+ihfMKmAIpoKF9FAmWXDEoX0UL5hUwBE/RQvooEyy4bFC+ihfMKmAI/6KF9FAmWXDkoX0UL5hUwB"
    "H/RQvooEyy4bmgoX0UCZZcOrQUL6KBMsuHhoKF9FAmWp8p8srrEFhYfzkUMNDXf1Ci4CoR5fLj1xUFqqwzsM"
    "7tFoLq6AmG9jYCo3PF/xNbB0i6h/ab89Q5I3dOgqn8UF3F/aKcAC79iC+o/DJ4pTlNyjiouzSb54BvP/9SYA"
    "W3j09eZQNMc4BMiXXJ7lL3bhoEutbUvE0Gv0QK8Y2z1DmktEBgBNDPgqgqFpx+uWqMaJxecQ4LTlOVIfNJMB"
    "p7qkDQK87YqaN1zzuJcvX/eVMGNyt+BV9LMraulFbwxngeKc9elW+AReMnib2WGHRyqpM/MNckQDJzdQLK0u"
    "nCxjSJHu02Nq0WPHUk8plDzig7cC1nXhWoF2R3VQtarEZBYg44kABEijzbkR9/vwFkvq1jjZ31+tRkTT05uZ"
    "QAuY9y+IE3U5k72832FGmSDAKrpKtensIGaGhy8Sqo1W+LoBKoGk7CnzSXsR+clJ6D9J+c7IabiX1AAAIsB4"
    "0C77dkhK1yqK0O62eAGhgn+YQAAAjVhIj3Bt4ABB1GD1GAAOBSaY+gAJ4q3F9GjbO0ySpWbegGSXVLwM2wVT"
    "mQo1kADTczSJlyQWRVY/dPENBB5BDZDq4tZYEazs8Hr/JmAtYDuFpGKahAwGNFSsPJbb3HaSQmZx14jTPvDO"
    "xd2s8/oqVXEPplEpjLch4cKGv+PDDW0pmlt6c1A0WlhCcKMJ1hFA1h0HV38r2wgoEWAk0t0SCTeHilb3GmAD"
    "ix1uTRapDWSZ9YXK4GXc3vSS7cj1Ld4fLGpMR3ixUgkuoMUAAHE4B/WgAJ0mmvEAAqRaHryM/hDhbBd0M6bP"
    "BWjd8xWfIAII1QAT+N2L3B0GLEms0+AL+fM1UczUO6IKZKWYugDNwx7cPQAKbmy7iEeb+r4gld+zm+acaf34"
    "8NmBSxkTY79+SS8nZV/jIZq2fv3BPCUdzL8w4+qEkxRcqIyF7vjDRIQyaj78pamGTBQXG7FcEOt0KwGIFM1V"
    "u+x9PgI9bEvTzk94noWzTeWAAz2ckMcEznTQXzwbWdCcJvSbvofbThoAXsYWOfnQDp05y8NlxcVfIamq32+V"
    "GEUcCvKJ6R7PM5SICGJp2hL8KuF6UIkPsVA0O7VKIpGW7AKpcCIlZrxEA1uMQNmg+hiu5jLAkPKCEB4RATdI"
    "gDFQiwRgLoWJ36YcCnb3LHFKofAG9fv37pJm340locBQBUYU6ByCmQad826jXvkEaPgtQ6maoMAAACXu/gjb"
    "bSlPssKHbvIxgzFJt9pczoNT2+UZwAAEwlKrPL+hidHLcw2Oo4xKwcF0NSmp02yv95egAAADAABPAAADAIwA"
    "AAMAuwAAAwF0AAADAhwAAAQ4AAADAAADAAADAAADAAADAAADAAADAAADAAADAAADAAADAAADAAADAAADAAAD"
    "AAADAAADAAADAW8="
)


def sps() -> bytes:
    return base64.b64decode(SPS_B64)


def pps() -> bytes:
    return base64.b64decode(PPS_B64)


def idr() -> bytes:
    return base64.b64decode(_IDR_B64)
