"""What nginx's playback check reads back from a signed link (medialinks.LinkClaims): the playback session, the
viewer and the film the link is for; anything else (no film in the path, no playback, a non-numeric viewer) is
no claim, so the check refuses it."""

from __future__ import annotations

import uuid

import pytest

from videoflix import medialinks


def test_a_signed_link_names_its_playback_viewer_and_film():
    playback = str(uuid.uuid4())
    link = medialinks.signed_link("/media/", "videos/42/hls-3/480p/007.ts", 9, 1_800_000_000, "s" * 40, playback)
    assert medialinks.LinkClaims.of(link) == medialinks.LinkClaims(playback, 9, 42)
    other_host = medialinks.signed_link("https://media.example/m/", "videos/7/hls-1/720p/000.ts", 3, 1, "s" * 40,
                                        playback)  # fmt: skip
    assert medialinks.LinkClaims.of(other_host) == medialinks.LinkClaims(playback, 3, 7)


@pytest.mark.parametrize("uri", [
    "/media/videos/42/hls-3/480p/007.ts?e=1&u=9&s=x",  # no playback
    "/media/other/42/007.ts?e=1&u=9&p=abc&s=x",  # no film
    "/media/videos/42/007.ts?e=1&u=nine&p=abc&s=x",
    "/media/videos/42/007.ts?e=1&u=99999999999999999999&p=abc&s=x",
    "",
])  # fmt: skip
def test_anything_else_is_no_claim(uri):
    assert medialinks.LinkClaims.of(uri) is None


def test_the_signature_covers_the_playback():
    base = ("/media/", "videos/1/hls-1/480p/000.ts", 1, 1_800_000_000, "s" * 40)
    assert medialinks.signed_link(*base, "a").split("s=")[-1] != medialinks.signed_link(*base, "b").split("s=")[-1]


def test_an_s3_url_under_a_playback_names_its_playback_and_film_but_no_viewer():
    playback = str(uuid.uuid4())
    uri = f"/play/{playback}/videoflix/videos/12/hls-2/av1/720p/003.m4s?X-Amz-Algorithm=AWS4&X-Amz-Signature=ab12"
    assert medialinks.LinkClaims.of(uri) == medialinks.LinkClaims(playback, None, 12)
    unsigned = f"/play/{playback}/videoflix/videos/12/hls-2/720p/003.ts"
    assert medialinks.LinkClaims.of(unsigned) is None
