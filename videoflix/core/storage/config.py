"""Which store to use, from the settings both tiers read (the web tier's .ini + environment, the workers'
environment): STORAGE_BACKEND, S3_ENDPOINT_URL, S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION; the local backend keeps MEDIA_ROOT."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

#: environment variable -> the setting's name (`videoflix.<name>` in the .ini files)
VARIABLES = {
    "STORAGE_BACKEND": "storage_backend",
    "S3_ENDPOINT_URL": "s3_endpoint_url",
    "S3_BUCKET": "s3_bucket",
    "AWS_ACCESS_KEY_ID": "s3_access_key",
    "AWS_SECRET_ACCESS_KEY": "s3_secret_key",
    "AWS_REGION": "s3_region",
    "S3_PUBLIC_URL": "s3_public_url",
    "SEGMENT_URLS": "segment_urls",
    "SEGMENT_URL_SECONDS": "segment_url_seconds",
    "MEDIA_LINK_PREFIX": "media_link_prefix",
    "MEDIA_LINK_SECRET": "media_link_secret",
}
SEGMENT_URLS = ("app", "presigned")
BACKENDS = ("local", "s3")


@dataclass(frozen=True)
class StorageConfig:
    backend: str
    endpoint_url: str | None = None
    bucket: str | None = None
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    region: str = "us-east-1"
    #: the endpoint as browsers reach it (signed URLs name its host), if not S3_ENDPOINT_URL
    public_url: str | None = None
    #: how the API's playlists name segments: `app` (its own URLs, the app streams them) or `presigned`
    #: (signed URLs that browsers fetch without the app: the store's own (S3), or nginx's secure_link (local))
    segment_urls: str = "app"
    #: how long a signed segment URL in a playlist stays valid
    url_seconds: int = 6 * 3600
    #: local backend: where nginx serves signed links (its `location`), and the secret it checks them with
    media_link_prefix: str = "/media/"
    media_link_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, lookup: Callable[[str], str | None]) -> StorageConfig:
        """From `lookup(name)` (a name of VARIABLES' values: the raw setting, or None); ValueError names what
        is wrong."""

        def get(name: str) -> str | None:
            return (lookup(name) or "").strip() or None

        backend = (get("storage_backend") or "local").lower()
        if backend not in BACKENDS:
            raise ValueError(f"STORAGE_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
        config = cls(
            backend=backend,
            endpoint_url=get("s3_endpoint_url"),
            bucket=get("s3_bucket"),
            access_key=get("s3_access_key"),
            secret_key=get("s3_secret_key"),
            region=get("s3_region") or "us-east-1",
            public_url=get("s3_public_url"),
            segment_urls=(get("segment_urls") or "app").lower(),
            url_seconds=int(get("segment_url_seconds") or 6 * 3600),
            media_link_prefix=get("media_link_prefix") or "/media/",
            media_link_secret=get("media_link_secret"),
        )
        if config.segment_urls not in SEGMENT_URLS:
            raise ValueError(f"SEGMENT_URLS must be one of {', '.join(SEGMENT_URLS)}, not {config.segment_urls!r}")
        if not 60 <= config.url_seconds <= 7 * 24 * 3600:
            raise ValueError("SEGMENT_URL_SECONDS must be between 60 and 604800 (S3's longest signature)")
        if backend == "local" and config.segment_urls == "presigned" and len(config.media_link_secret or "") < 32:
            raise ValueError("SEGMENT_URLS=presigned with local storage needs MEDIA_LINK_SECRET (>= 32 characters)")
        if not valid_link_prefix(config.media_link_prefix):
            raise ValueError("MEDIA_LINK_PREFIX must be a path or an http(s) URL without a query, ending in '/'")
        if backend == "s3" and not config.bucket:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        return config

    def open(self, media_root: Path):
        """The configured backend (an S3 client is made here: once per process); the local one in
        `media_root` (MEDIA_ROOT, which both tiers read on their own)."""
        if self.backend == "s3":
            from .s3 import S3Storage, s3_client

            client = s3_client(self.endpoint_url, self.access_key, self.secret_key, self.region)
            signer = client
            if self.public_url and self.public_url != self.endpoint_url:
                signer = s3_client(self.public_url, self.access_key, self.secret_key, self.region)
            return S3Storage(client, self.bucket, signer=signer)
        from .local import LocalStorage

        return LocalStorage(media_root)


def valid_link_prefix(prefix: str) -> bool:
    """A path (`/media/`: links on the API's own origin) or an absolute URL (`https://media.example.com/m/`:
    a media host, or the nginx in front of MEDIA_ROOT seen from another origin); ending in '/'."""
    parts = urlsplit(prefix)
    if parts.query or parts.fragment or not parts.path.startswith("/") or not prefix.endswith("/"):
        return False
    return (parts.scheme, parts.netloc) == ("", "") or (parts.scheme in ("http", "https") and bool(parts.netloc))
