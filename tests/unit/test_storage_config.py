"""STORAGE_BACKEND and the S3 settings: read alike by both tiers, and refused with a clear reason when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyramid.exceptions import ConfigurationError

from stream_workers.settings import WorkerSettings
from videoflix.config import apply_environment, build_settings
from videoflix.core.storage.config import StorageConfig
from videoflix.core.storage.local import LocalStorage
from videoflix.core.storage.s3 import S3Storage

S3 = {
    "STORAGE_BACKEND": "s3",
    "S3_ENDPOINT_URL": "http://store:8333",
    "S3_BUCKET": "films",
    "AWS_ACCESS_KEY_ID": "key",
    "AWS_SECRET_ACCESS_KEY": "secret-value",
    "AWS_REGION": "eu-central-1",
}


def test_web_and_workers_read_the_same_storage_settings(monkeypatch, tmp_path):
    for name, value in {**S3, "MEDIA_ROOT": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    expected = StorageConfig("s3", "http://store:8333", "films", "key", "secret-value", "eu-central-1")
    assert WorkerSettings.from_environment().storage == expected
    assert build_settings(apply_environment({"videoflix.media_root": str(tmp_path)})).storage == expected
    assert "secret-value" not in repr(expected)  # settings get logged; the secret must not be


def test_local_is_the_default_and_keeps_media_root(tmp_path):
    config = build_settings({"videoflix.media_root": str(tmp_path)}).storage
    assert config.backend == "local"
    assert isinstance(config.open(tmp_path), LocalStorage) and config.open(tmp_path).root == tmp_path


def test_s3_opens_a_client_for_the_endpoint(tmp_path):
    raw = {"storage_backend": "S3", "s3_bucket": "b", "s3_endpoint_url": "http://store:8333"}
    store = StorageConfig.from_settings(raw.get).open(tmp_path)
    assert isinstance(store, S3Storage) and store.bucket == "b"
    assert store.client.meta.endpoint_url == "http://store:8333"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [({"videoflix.storage_backend": "nfs"}, "STORAGE_BACKEND must be one of local, s3"),
     ({"videoflix.storage_backend": "s3"}, "needs S3_BUCKET"),
     ({"videoflix.segment_urls": "cdn"}, "SEGMENT_URLS must be one of app, presigned"),
     ({"videoflix.segment_url_seconds": "999999"}, "SEGMENT_URL_SECONDS must be between 60 and 604800"),
     ({"videoflix.segment_urls": "presigned"}, "needs MEDIA_LINK_SECRET"),
     ({"videoflix.segment_urls": "presigned", "videoflix.media_link_secret": "short"}, "needs MEDIA_LINK_SECRET"),
     ({"videoflix.media_link_prefix": "media"}, "MEDIA_LINK_PREFIX must be a path or an http"),
     ({"videoflix.media_link_prefix": "ftp://media.example/m/"}, "MEDIA_LINK_PREFIX must be a path or an http"),
     ({"videoflix.media_link_prefix": "https://media.example/m/?x=1/"}, "MEDIA_LINK_PREFIX must be a path or an"),
     ({"videoflix.media_link_prefix": "https:///m/"}, "MEDIA_LINK_PREFIX must be a path or an http")],
)  # fmt: skip
def test_wrong_storage_settings_stop_the_app_with_a_reason(raw, reason):
    with pytest.raises(ConfigurationError, match=reason):
        build_settings({"videoflix.media_root": str(Path("var/media")), **raw})


@pytest.mark.parametrize("prefix", ["/media/", "https://media.example.com/media/", "http://127.0.0.1:8443/m/"])
def test_media_links_may_name_the_apis_origin_or_another(prefix):
    config = build_settings({"videoflix.media_root": "var/media", "videoflix.media_link_prefix": prefix}).storage
    assert config.media_link_prefix == prefix
