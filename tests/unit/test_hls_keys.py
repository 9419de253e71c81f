"""Encrypted HLS (videoflix.core.hls_keys): the keys, the sealing (byte for byte as FFmpeg's HLS muxer seals
a segment), and the key lines a playlist gets."""

from __future__ import annotations

import pytest

from tests.support.clips import ffmpeg, make_clip
from videoflix.core.hls_keys import FilmKeys, NotSealable, derive_key, iv_for, keyed_playlist_name, sealed_name

KEYS = FilmKeys(bytes(range(32)), rotation=3)


def test_each_key_is_its_own_and_follows_from_the_seed_alone():
    keys = [KEYS.key(n) for n in range(5)]
    assert len(set(keys)) == 5 and all(len(k) == 16 for k in keys)
    assert FilmKeys(bytes(range(32)), 7).key(2) == keys[2] == derive_key(bytes(range(32)), 2)
    assert FilmKeys(bytes(32), 3).key(2) != keys[2]
    assert FilmKeys.new(3).seed != FilmKeys.new(3).seed


@pytest.mark.parametrize(("seed", "rotation"), [(bytes(16), 3), (bytes(32), 0)])
def test_keys_need_a_whole_seed_and_a_rotation(seed, rotation):
    with pytest.raises(ValueError):
        FilmKeys(seed, rotation)


def test_a_segment_is_sealed_with_its_rotations_key_and_its_own_iv():
    data = b"\x47" + bytes(187) * 3
    sealed = [KEYS.seal(data, n) for n in range(4)]
    assert len(set(sealed)) == 4  # another IV per segment, so equal segments look different
    assert all(len(s) % 16 == 0 and len(s) > len(data) for s in sealed)  # PKCS#7: always padded
    assert [KEYS.open(s, n) for n, s in enumerate(sealed)] == [data] * 4
    other = FilmKeys(bytes(range(32)), rotation=1)  # the same keys by number, rotated otherwise
    assert other.open(sealed[0], 0) == data  # segment 0: key 0 in both
    with pytest.raises(ValueError):
        other.open(sealed[3], 3)  # key 3 here, key 1 there: the padding reads as noise


def test_sealing_is_what_ffmpegs_hls_muxer_writes(tmp_path):
    """FFmpeg seals a segment with the key and IV of its key-info file; the same segment, clear, sealed here
    with that key and IV is the same bytes: players that read FFmpeg's encrypted HLS read ours."""
    clip = make_clip(tmp_path / "clip.mp4", seconds=5, extra=["-g", "25"])
    (tmp_path / "k.bin").write_bytes(KEYS.key(2))
    sequence = 7  # a segment of key 2 (7 // 3), with its own IV
    (tmp_path / "info").write_text(f"key/2.key\n{tmp_path / 'k.bin'}\n{iv_for(sequence).hex()}\n")
    common = ["-i", str(clip), "-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"]
    ffmpeg(*common, "-hls_segment_filename", str(tmp_path / "c%03d.ts"), str(tmp_path / "clear.m3u8"))
    ffmpeg(*common, "-hls_key_info_file", str(tmp_path / "info"), "-hls_segment_filename",
           str(tmp_path / "e%03d.ts"), str(tmp_path / "sealed.m3u8"))  # fmt: skip
    assert '#EXT-X-KEY:METHOD=AES-128,URI="key/2.key"' in (tmp_path / "sealed.m3u8").read_text()
    clear = sorted(tmp_path.glob("c*.ts"))
    assert len(clear) >= 2
    for path in clear:
        assert KEYS.seal(path.read_bytes(), sequence) == (tmp_path / f"e{path.name[1:]}").read_bytes()


PLAYLIST = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:4.000000,
000.ts
#EXTINF:4.000000,
001.ts
#EXTINF:4.000000,
002.ts
#EXTINF:4.000000,
003.ts
#EXTINF:1.500000,
004.ts
#EXT-X-ENDLIST
"""


def test_a_playlist_names_each_key_before_the_segment_that_opens_it():
    keyed = KEYS.playlist(PLAYLIST, depth=1)
    lines = keyed.splitlines()
    keys = [i for i, line in enumerate(lines) if line.startswith("#EXT-X-KEY")]
    assert [lines[i] for i in keys] == [
        '#EXT-X-KEY:METHOD=AES-128,URI="../key/0.key"',
        '#EXT-X-KEY:METHOD=AES-128,URI="../key/1.key"',
    ]
    assert [lines[i + 2] for i in keys] == ["000.ts", "003.ts"]  # before the segment's #EXTINF
    assert [line for line in lines if not line.startswith("#EXT-X-KEY")] == PLAYLIST.splitlines()
    assert KEYS.playlist(keyed, depth=1) == keyed  # keyed again: the same
    assert 'URI="../../key/0.key"' in KEYS.playlist(PLAYLIST, depth=2)


def test_init_segments_stay_clear():
    fmp4 = PLAYLIST.replace("#EXTINF:4.000000,\n000.ts", '#EXT-X-MAP:URI="init-0000.mp4"\n#EXTINF:4.000000,\n000.m4s')
    fmp4 = fmp4.replace("#EXTINF:4.000000,\n002.ts", '#EXT-X-MAP:URI="init-0001.mp4"\n#EXTINF:4.000000,\n002.m4s')
    fmp4 = fmp4.replace(".ts", ".m4s")
    lines = KEYS.playlist(fmp4, depth=2).splitlines()
    first_map = lines.index('#EXT-X-MAP:URI="init-0000.mp4"')
    assert not any(line.startswith("#EXT-X-KEY") for line in lines[:first_map])  # no key yet: clear
    second = lines.index('#EXT-X-MAP:URI="init-0001.mp4"')
    assert lines[second - 1] == "#EXT-X-KEY:METHOD=NONE"
    assert lines[second + 1] == '#EXT-X-KEY:METHOD=AES-128,URI="../../key/0.key"'  # segment 2: key 0 again


@pytest.mark.parametrize(
    "playlist",
    [PLAYLIST.replace("MEDIA-SEQUENCE:0", "MEDIA-SEQUENCE:5"), PLAYLIST.replace("001.ts", "009.ts"),
     PLAYLIST.replace("001.ts", "one.ts")],
)  # fmt: skip
def test_a_playlist_numbered_apart_from_its_places_is_refused(playlist):
    with pytest.raises(NotSealable):
        KEYS.playlist(playlist, depth=1)


def test_what_is_sealed_and_keyed():
    assert sealed_name("480p/003.ts") and sealed_name("av1/720p/010.m4s") and sealed_name("audio/1/000.ts")
    assert not sealed_name("av1/720p/init-0000.mp4") and not sealed_name("parts/audio/000.ts")
    assert not sealed_name("thumbnail.jpg") and not sealed_name("480p/index.m3u8")
    assert keyed_playlist_name("480p/index.m3u8") and keyed_playlist_name("av1/720p/index.m3u8")
    assert keyed_playlist_name("audio/1/index.m3u8")
    assert not keyed_playlist_name("master.m3u8") and not keyed_playlist_name("av1/master.m3u8")
    assert not keyed_playlist_name("parts/audio/index.m3u8") and not keyed_playlist_name("parts/480p/part-0000.m3u8")
    assert KEYS.keyed_named("master.m3u8", PLAYLIST) == PLAYLIST
    assert KEYS.seal_named("480p/002.ts", b"x") == KEYS.seal(b"x", 2)
    assert KEYS.open_named("480p/002.ts", KEYS.seal_named("480p/002.ts", b"x")) == b"x"
