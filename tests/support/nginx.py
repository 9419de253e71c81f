"""Debian's nginx running the repo's deploy/nginx.conf, adapted to a test's or a benchmark's ports, paths,
store, bucket, frontend origin and link secret."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .stack import ROOT, Command, clean_env

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SHIPPED = ROOT / "deploy" / "nginx.conf"


def certificate(folder: Path) -> Path:
    """A self-signed pair for localhost, as the README's local try makes one."""
    folder.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder


def adapted(
    site: str, web_port: int, http_port: int, https_port: int, tls: Path, media: Path,
    store: str = "http://127.0.0.1:9", bucket: str = "videoflix", origin: str = "https://videoflix.example.com",
    link_secret: str = "", per_address: int | None = None,
) -> str:  # fmt: skip
    """deploy/nginx.conf with the test's ports, paths, store, bucket, frontend origin and link secret (what the
    image's template rendering puts there); the rest as shipped. `per_address`: the connections one client
    address may have (a benchmark's one client standing for many viewers), else as shipped."""
    if per_address is not None:
        site = site.replace("limit_conn videoflix_per_address 100;", f"limit_conn videoflix_per_address {per_address};")
    for shipped, here in [
        ("${MEDIA_LINK_SECRET}", link_secret),
        ("/var/cache/nginx/videoflix_segments", f"{tls.parent}/segment-cache"),
        ("/var/cache/nginx/videoflix_playback", f"{tls.parent}/playback-cache"),
        ("set $videoflix_store http://seaweedfs:8333;", f"set $videoflix_store {store};"),
        ("location /videoflix/ {", f"location /{bucket}/ {{"),
        ("(?<videoflix_object>/videoflix/videos/", f"(?<videoflix_object>/{bucket}/videos/"),
        ('"https://videoflix.example.com" $http_origin;', f'"{origin}" $http_origin;'),
        ('default "videoflix.example.com";', f'default "localhost:{https_port}";'),  # the public host
        ("server web:8000;", f"server 127.0.0.1:{web_port};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/nginx/tls/", f"{tls}/"),
        ("/etc/nginx/videoflix_proxy.conf", str(ROOT / "deploy" / "videoflix_proxy.conf")),
        ("/srv/videoflix/media/", f"{media}/"),
    ]:
        assert shipped in site, shipped
        site = site.replace(shipped, here)
    return site


def run_nginx(folder: Path, site: str) -> Command:
    """Debian's nginx with `site` (an adapted deploy/nginx.conf) as its only server block, everything in
    `folder`."""
    (folder / "site.conf").write_text(site)
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / temp).mkdir()
    (folder / "nginx.conf").write_text(
        f"daemon off;\nuser root;\nworker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        "events {}\nhttp {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    access_log {folder}/access.log;\n    client_body_temp_path {folder}/body;\n"
        f"    proxy_temp_path {folder}/proxy;\n    fastcgi_temp_path {folder}/fastcgi;\n"
        f"    uwsgi_temp_path {folder}/uwsgi;\n    scgi_temp_path {folder}/scgi;\n    include {folder}/site.conf;\n}}\n"
    )
    nginx = Command([NGINX, "-c", str(folder / "nginx.conf"), "-p", str(folder)], folder, clean_env(),
                    folder / "nginx.out")  # fmt: skip
    return nginx
