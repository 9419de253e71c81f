"""hls.js in Chromium plays a film from local storage whose segments are links nginx checks and serves by
itself (SEGMENT_URLS=presigned with STORAGE_BACKEND=local): the web process signs each viewer's playlist,
the repo's deploy/nginx.conf verifies every segment link (`secure_link`) and answers the frontend's
credentialed requests with its CORS headers, so no segment costs a Python request; and so for a sealed film
(encrypted HLS: nginx sends the sealed segments, the app the keys). The S3 counterpart: test_s3_browser.py."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from videoflix.cli.upload import Client
from videoflix.devservices import free_port, wait_for_port

from ..support.accounts import PASSWORD
from ..support.browser import chromium_path, player_page, plays_through_tls
from ..support.nginx import NGINX, SHIPPED, adapted, certificate, run_nginx
from ..support.stack import VIDEOFLIX

pytestmark = pytest.mark.integration

LINK_SECRET = "link-secret-for-the-browser-test-0123456789"


@pytest.fixture(scope="module", params=["pipeline", "sealed_pipeline"])
def linked_api(request, frontend_site):
    """nginx with the repo's config in front of a pipeline's MEDIA_ROOT (the clear one's, the sealed one's),
    and a web process whose playlists name links signed for nginx's address (another origin than the API's,
    as a media host would be)."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (apt-get install nginx)")
    if not chromium_path():
        pytest.skip("chromium is not installed")
    pipeline = request.getfixturevalue(request.param)
    folder = pipeline.folder / "nginx-links"
    folder.mkdir()
    tls = certificate(folder / "tls")
    http_port, https_port, api_port = free_port(), free_port(), free_port()
    site = adapted(SHIPPED.read_text(), api_port, http_port, https_port, tls, pipeline.media,
                   origin=frontend_site, link_secret=LINK_SECRET)  # fmt: skip
    nginx = run_nginx(folder, site)
    wait_for_port("127.0.0.1", https_port, 30, alive=lambda: nginx.proc.poll() is None)
    web = pipeline.run(
        [*VIDEOFLIX, "serve", str(pipeline.folder / "development.ini"), "--port", str(api_port)], "web-linked",
        SEGMENT_URLS="presigned", MEDIA_LINK_SECRET=LINK_SECRET,
        MEDIA_LINK_PREFIX=f"https://localhost:{https_port}/media/",
    )  # fmt: skip
    web.listening(api_port, 60)
    yield SimpleNamespace(api=f"http://127.0.0.1:{api_port}/api", nginx_log=folder / "access.log",
                          media=f"https://localhost:{https_port}/media/", pipeline=pipeline)  # fmt: skip
    web.kill()
    nginx.kill()


def test_hls_js_plays_segments_nginx_serves_from_signed_links(linked_api, media_files, frontend_site, tmp_path,
                                                              request):  # fmt: skip
    pipeline = linked_api.pipeline
    sealed = pipeline.env["HLS_ENCRYPTION"] == "on"
    if sealed:  # a 720p film made in one pass with its AV1 ladder, sealed (tests/integration/test_sealed_hls.py)
        video_id = request.getfixturevalue("sealed_films")["one pass"]
    else:
        client = pipeline.client()
        video_id = client.upload(media_files["hd"], {"title": "Played through signed links"})["id"]
        assert pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 180)["status"] == "ready"
        pipeline.wait_for_ladder(client, video_id, 240)

    page = player_page(linked_api, frontend_site, video_id)
    plays_through_tls(page, tmp_path, "linked")
    segment = r"hls-\w+/(?:av1/)?\d+p/\d+\.(?:ts|m4s)"  # (an AV1-capable browser plays the AV1 ladder)
    query = r"\?e=\d+&u=\d+&p=[0-9a-f-]{36}&s=[\w-]+"  # (signed for the viewer's playback session)
    served = re.findall(rf'"GET /media/videos/{video_id}/{segment}{query} HTTP/[\d.]+" 200',
                        linked_api.nginx_log.read_text())  # fmt: skip
    assert served  # the segments came from nginx, through links it verified
    viewer = Client(linked_api.api)
    viewer.login("operator@example.com", PASSWORD)
    cookie = next(c.value for c in viewer.cookies if c.name == "access_token")
    request = urllib.request.Request(f"{linked_api.api}/video/{video_id}/480p/index.m3u8",
                                     headers={"Cookie": f"access_token={cookie}"})  # fmt: skip
    with urllib.request.urlopen(request) as answer:
        text = answer.read().decode()
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert uris and all(uri.startswith(f"{linked_api.media}videos/{video_id}/") for uri in uris)  # none via the app
    # a sealed film's keys come from the app (relative to the playlist's address), its segments from nginx
    assert ('#EXT-X-KEY:METHOD=AES-128,URI="../key/0.key"' in text) == sealed, text
