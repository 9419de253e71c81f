"""Encrypted HLS (AES-128, RFC 8216 §5.2): a film's keys, its segments sealed with them, and the `#EXT-X-KEY`
lines its media playlists carry.

- A film has one random seed (`videos.hls_key_seed`, made when its encode is planned); key `n` is
  HMAC-SHA256(seed, "videoflix-hls-key:n") cut to 16 bytes, so every worker and the web tier derive the same
  keys from the row alone, and a key never leaves the app but to a live playback session.
- The key changes every `rotation` segments: segment `i` (its name's number, which is its place in the
  playlist: every writer numbers from 0, `#EXT-X-MEDIA-SEQUENCE:0`) is sealed with key `i // rotation`, and the
  playlist names that key once before the first segment it opens. The IV is left to the player's rule for an
  `#EXT-X-KEY` without one, the segment's media sequence number, so every segment has its own IV and a
  playlist holds one key line per rotation, not one per segment.
- Sealed exactly as FFmpeg's HLS muxer seals a segment with `-hls_key_info_file` (the whole file, AES-128-CBC,
  PKCS#7 padding; tested byte for byte against FFmpeg), which cannot seal fMP4 (the AV1 ladder) or sign a
  long film's segments across its parts; here every ladder and both paths seal the same way.
- Init segments (`#EXT-X-MAP`, fMP4) stay clear (codec set-up, no picture or sound): the playlist ends the key
  before each (`METHOD=NONE`) and names it again after, as the standard lets a key apply to a map.

What this protects: segments copied from the store, a CDN, a cache or a leaked link are noise without a key,
and a key goes only to a live playback session. What it does not: a viewer who may watch can record what the
player decrypts (this is not DRM: Widevine and FairPlay need their vendors' licences and players).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: bytes of a film's seed (`videos.hls_key_seed`) and of an AES-128 key
SEED_BYTES = 32
KEY_BYTES = 16
#: what each key URI names, relative to the film's folder in the API (`/api/video/<id>/key/<n>.key`)
KEY_PATH = "key/{index}.key"
#: the files that are sealed: media segments (an init segment, `.mp4`, stays clear)
SEALED_SUFFIXES = frozenset({".ts", ".m4s"})
#: the playlists that name keys: a rendition's or track's own, never the parts' (`parts/`, not served)
_MEDIA_PLAYLIST = re.compile(r"(?!parts/)(?:[\w.-]+/)+index\.m3u8")
_SEGMENT_NUMBER = re.compile(r"(\d+)\.(?:ts|m4s)")


class NotSealable(ValueError):
    """A name or playlist this scheme cannot seal (no number, or numbered apart from its place)."""


def derive_key(seed: bytes, index: int) -> bytes:
    """Key `index` of the film whose seed is `seed`."""
    return hmac.new(seed, f"videoflix-hls-key:{index}".encode(), hashlib.sha256).digest()[:KEY_BYTES]


def iv_for(sequence: int) -> bytes:
    """The IV a player uses for segment `sequence` of a playlist whose key line names none: its media
    sequence number, big-endian in 16 bytes (RFC 8216 §5.2)."""
    return sequence.to_bytes(16, "big")


def segment_number(name: str) -> int:
    """The number a sealed file's name carries (`0042.ts`, `audio/1/007.ts`, `av1/720p/013.m4s`)."""
    found = _SEGMENT_NUMBER.fullmatch(PurePosixPath(name).name)
    if found is None:
        raise NotSealable(f"{name}: not a numbered segment")
    return int(found.group(1))


def sealed_name(name: str) -> bool:
    """Whether the output's file `name` is sealed when the film is encrypted: a served media segment."""
    path = PurePosixPath(name)
    return path.suffix in SEALED_SUFFIXES and "parts" not in path.parts


def keyed_playlist_name(name: str) -> bool:
    """Whether the output's file `name` is a media playlist that names keys (a rendition's or a track's)."""
    return _MEDIA_PLAYLIST.fullmatch(name) is not None


@dataclass(frozen=True)
class FilmKeys:
    """One film's keys: its seed and how many segments each key seals."""

    seed: bytes
    rotation: int

    @classmethod
    def new(cls, rotation: int) -> FilmKeys:
        return cls(os.urandom(SEED_BYTES), rotation)

    def __post_init__(self) -> None:
        if len(self.seed) != SEED_BYTES or self.rotation < 1:
            raise ValueError("a film's keys need a 32-byte seed and a rotation of at least one segment")

    def key(self, index: int) -> bytes:
        return derive_key(self.seed, index)

    def key_index(self, sequence: int) -> int:
        return sequence // self.rotation

    def _cipher(self, sequence: int) -> Cipher:
        return Cipher(algorithms.AES(self.key(self.key_index(sequence))), modes.CBC(iv_for(sequence)))

    def seal(self, data: bytes, sequence: int) -> bytes:
        """Segment `sequence`'s bytes as a player fetches them."""
        padder = padding.PKCS7(128).padder()
        encryptor = self._cipher(sequence).encryptor()
        return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()

    def open(self, data: bytes, sequence: int) -> bytes:
        """A sealed segment's bytes, clear again (the workers read their own output: quality, the AV1 sound)."""
        decryptor = self._cipher(sequence).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()

    def seal_named(self, name: str, data: bytes) -> bytes:
        """The output's file `name` as it is stored: sealed when it is a served segment (`sealed_name`)."""
        return self.seal(data, segment_number(name)) if sealed_name(name) else data

    def open_named(self, name: str, data: bytes) -> bytes:
        return self.open(data, segment_number(name)) if sealed_name(name) else data

    def playlist(self, text: str, depth: int) -> str:
        """A media playlist's text with its key lines: before each segment that opens a key, that key's
        line (URI relative to the playlist, `depth` folders below the film's: `480p/` 1, `av1/720p/` 2);
        each init segment clear (`METHOD=NONE` before its map, the key named again after). A playlist whose
        segments are not numbered by their place is refused (NotSealable): its players would use other IVs."""
        up = "../" * depth
        lines, current, sequence = [], None, 0
        for line in text.splitlines():
            if line.startswith("#EXT-X-KEY"):
                continue  # (a playlist keyed before is keyed again)
            if line.startswith("#EXT-X-MEDIA-SEQUENCE:") and int(line.split(":", 1)[1]) != 0:
                raise NotSealable("a playlist must start at media sequence 0")
            if line.startswith("#EXT-X-MAP"):  # clear: no key in force for it; the next segment names its own
                if current is not None:
                    lines.append("#EXT-X-KEY:METHOD=NONE")
                    current = None
                lines.append(line)
                continue
            if line and not line.startswith("#"):
                if segment_number(line) != sequence:
                    raise NotSealable(f"segment {line} is listed at place {sequence}")
                index = self.key_index(sequence)
                if index != current:
                    at = len(lines)
                    while at and lines[at - 1].startswith("#EXTINF"):  # the key goes before the segment's tags
                        at -= 1
                    lines.insert(at, self._key_line(up, index))
                    current = index
                sequence += 1
            lines.append(line)
        return "\n".join(lines) + "\n"

    @staticmethod
    def _key_line(up: str, index: int) -> str:
        return f'#EXT-X-KEY:METHOD=AES-128,URI="{up}{KEY_PATH.format(index=index)}"'

    def keyed_named(self, name: str, text: str) -> str:
        """The output's file `name` as it is stored: a media playlist with its key lines, else as it is."""
        return self.playlist(text, name.count("/")) if keyed_playlist_name(name) else text
