"""The one fact the app reads from an MPEG-TS segment: its first presentation timestamp.

HLS players take a rendition's first timestamp as the film's time 0 (hls.js: the least PTS of the first
segment's audio and video); a WebVTT subtitle file names that timestamp in its X-TIMESTAMP-MAP header, or
its cues show early or late by the difference (FFmpeg's TS muxer starts at ~1.4 s).
"""

from __future__ import annotations

PACKET = 188
SYNC = 0x47
#: enough of a segment to hold the first audio and video packets
HEAD_BYTES = 128 * PACKET


def first_pts(data: bytes) -> int | None:
    """The least PTS (90 kHz) among the audio and video PES packets that start in `data`, or None."""
    least: int | None = None
    for at in range(0, len(data) - PACKET + 1, PACKET):
        packet = data[at : at + PACKET]
        if packet[0] != SYNC or not packet[1] & 0x40:  # not a packet, or no PES starts in it
            continue
        control = (packet[3] >> 4) & 3
        start = 4 + (1 + packet[4] if control & 2 else 0)
        pes = packet[start:]
        if not control & 1 or len(pes) < 14 or pes[:3] != b"\x00\x00\x01":
            continue
        if not (0xC0 <= pes[3] <= 0xEF) or not pes[7] & 0x80:  # audio or video streams, with a PTS
            continue
        pts = ((pes[9] >> 1) & 7) << 30 | pes[10] << 22 | (pes[11] >> 1) << 15 | pes[12] << 7 | pes[13] >> 1
        least = pts if least is None else min(least, pts)
    return least
