"""hls.js in Chromium plays a film stored in S3 (SeaweedFS), the way the existing frontend plays (credentials
on every request), both ways the API can name segments: through the app (SEGMENT_URLS=app), and as signed
URLs that the repo's deploy/nginx.conf passes to the store with the CORS answer credentials need
(SEGMENT_URLS=presigned), so no segment costs a Python request."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from videoflix.devservices import free_port, wait_for_port

from ..support.browser import chromium_path, play, player_page, plays_through_tls, problems
from ..support.nginx import NGINX, SHIPPED, adapted, certificate, run_nginx
from ..support.stack import VIDEOFLIX

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stored_film(s3_pipeline, media_files) -> int:
    if not chromium_path():
        pytest.skip("chromium is not installed")
    client = s3_pipeline.client()
    video_id = client.upload(media_files["hd"], {"title": "Played from the bucket"})["id"]
    assert s3_pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 180)["status"] == "ready"
    s3_pipeline.wait_for_ladder(client, video_id, 240)
    return video_id


@pytest.fixture(scope="module")
def presigned_api(s3_pipeline, seaweedfs, frontend_site):
    """nginx with the repo's config in front of SeaweedFS (the bucket location), and a web process whose
    playlists name signed URLs for nginx's address."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (apt-get install nginx)")
    folder = s3_pipeline.folder / "nginx-store"
    folder.mkdir()
    tls = certificate(folder / "tls")
    http_port, https_port, api_port = free_port(), free_port(), free_port()
    site = adapted(SHIPPED.read_text(), api_port, http_port, https_port, tls, folder,
                   store=seaweedfs.endpoint_url, bucket="videoflix-pipeline", origin=frontend_site)  # fmt: skip
    nginx = run_nginx(folder, site)
    wait_for_port("127.0.0.1", https_port, 30, alive=lambda: nginx.proc.poll() is None)
    web = s3_pipeline.run(
        [*VIDEOFLIX, "serve", str(s3_pipeline.folder / "development.ini"), "--port", str(api_port)], "web-presigned",
        SEGMENT_URLS="presigned", S3_PUBLIC_URL=f"https://localhost:{https_port}", S3_PLAYBACK_PATH="/play/",
    )  # fmt: skip
    web.listening(api_port, 60)
    yield SimpleNamespace(api=f"http://127.0.0.1:{api_port}/api", nginx_log=folder / "access.log")
    web.kill()
    nginx.kill()


def test_hls_js_plays_a_film_from_the_bucket_through_the_app(s3_pipeline, frontend_site, stored_film, tmp_path):
    page = player_page(s3_pipeline, frontend_site, stored_film)
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "app.png"))
    assert result["login"] == 200 and result["levels"] == 4  # both rungs in H.264 and in AV1
    assert result["played"] > 2.5 and problems(result["errors"]) == [], result


def test_hls_js_plays_signed_segments_through_nginx_with_credentials(presigned_api, frontend_site, stored_film,
                                                                     tmp_path):  # fmt: skip
    page = player_page(presigned_api, frontend_site, stored_film)
    plays_through_tls(page, tmp_path, "presigned")
    segment = r"hls-\w+/(?:av1/)?\d+p/(\d+)\.(?:ts|m4s)"  # (an AV1-capable browser plays the AV1 ladder)
    fetched = re.findall(rf'"GET /play/[0-9a-f-]{{36}}/videoflix-pipeline/videos/\d+/{segment}\?\S+ HTTP/[\d.]+" 200',
                         presigned_api.nginx_log.read_text())  # fmt: skip
    assert fetched  # the segments came from the store through nginx, signed and checked, not from the app


def test_nginx_keeps_a_signed_segment_only_under_its_whole_signed_url(presigned_api, stored_film, s3_pipeline):
    """The bucket location's cache: the same signed URL twice reaches the store once; the URL with its
    signature altered is refused by the store, never answered from the cache; the URL without the playback
    session in front is refused by nginx. Then the viewer logs out: nginx refuses the URL within its 15 s."""
    import ssl
    import urllib.error
    import urllib.request

    client = s3_pipeline.client()
    cookie = next(c.value for c in client.cookies if c.name == "access_token")
    request = urllib.request.Request(f"{presigned_api.api}/video/{stored_film}/480p/index.m3u8",
                                     headers={"Cookie": f"access_token={cookie}"})  # fmt: skip
    with urllib.request.urlopen(request) as answer:
        url = next(line for line in answer.read().decode().splitlines() if line.startswith("https://"))
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE  # the test's self-signed certificate
    statuses = []
    for _ in range(2):
        with urllib.request.urlopen(url, context=insecure) as answer:
            statuses.append(answer.headers.get("X-Cache-Status"))
            body = answer.read()
    # an MPEG-TS packet, or an fMP4 segment where the film's best H.264 ladder took the fast one's place (the
    # rendition's own playlist then names its segments: tests/integration/test_best_ladder.py)
    assert body[4:8] == b"styp" if "/avc/480p/" in url else body[:1] == b"\x47", url
    forged = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, context=insecure)
    assert refused.value.code == 403
    assert statuses == ["MISS", "HIT"], statuses  # the second came from nginx's cache
    assert re.match(r"https://[^/]+/play/[0-9a-f-]{36}/videoflix-pipeline/videos/", url), url
    direct = re.sub(r"/play/[0-9a-f-]{36}/", "/", url)
    with pytest.raises(urllib.error.HTTPError) as bypassed:
        urllib.request.urlopen(direct, context=insecure)
    assert bypassed.value.code == 403
    client.call("POST", "/logout/", b"{}", {"Content-Type": "application/json", "X-CSRFToken": client.csrf()})
    started = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, context=insecure) as answer:
                answer.read()
        except urllib.error.HTTPError as stopped:
            assert stopped.code == 403
            break
        assert time.monotonic() - started < 16, "still served 16 s after the logout"
        time.sleep(0.25)
