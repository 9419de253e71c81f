"""A further ladder's rendition playlist served in a rendition's place (videoflix/core/playlist_uris.py): the
best H.264 ladder's, sealed, still names the film's keys where the key route serves them."""

from __future__ import annotations

from urllib.parse import urljoin

from videoflix.core.hls_keys import FilmKeys
from videoflix.core.playlist_uris import in_rendition_place

PLAYLIST = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-MAP:URI="init-0000.mp4"
#EXTINF:4.0,
000.m4s
#EXTINF:4.0,
001.m4s
#EXT-X-ENDLIST
"""


def test_a_sealed_best_rendition_served_in_a_renditions_place_names_the_films_keys():
    keyed = FilmKeys(seed=b"s" * 32, rotation=1).playlist(PLAYLIST, 2)  # as stored: avc/480p/index.m3u8
    where = "https://example.com/api/video/7/"
    stored_keys = [line.split('URI="')[1].rstrip('"') for line in keyed.splitlines() if "METHOD=AES-128" in line]
    assert {urljoin(where + "avc/480p/index.m3u8", uri) for uri in stored_keys} == {
        where + "key/0.key", where + "key/1.key"}  # fmt: skip
    served = in_rendition_place(keyed)  # as served: 480p/index.m3u8
    keys = [line.split('URI="')[1].rstrip('"') for line in served.splitlines() if "METHOD=AES-128" in line]
    assert [urljoin(where + "480p/index.m3u8", uri) for uri in keys] == [where + "key/0.key", where + "key/1.key"]
    assert served.replace('URI="../key/', 'URI="../../key/') == keyed  # nothing else changed
