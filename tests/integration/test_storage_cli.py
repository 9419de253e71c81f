"""`videoflix storage init` as a deployment runs it before the app: the bucket made once, then found; a store
that refuses the credentials is a one-line error, not a traceback."""

from __future__ import annotations

import uuid

import pytest

from ..support.accounts import S3_ACCESS_KEY, S3_SECRET_KEY
from ..support.stack import VIDEOFLIX

pytestmark = pytest.mark.integration


def test_storage_init_creates_the_bucket_once(project, base_env, run_command, seaweedfs):
    bucket = f"init-{uuid.uuid4().hex[:12]}"
    env = {**base_env, "DATABASE_URL": "postgresql://unused/none", "SECRET_KEY": "i" * 48, "STORAGE_BACKEND": "s3",
           "S3_ENDPOINT_URL": seaweedfs.endpoint_url, "S3_BUCKET": bucket,
           "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}  # fmt: skip
    first = run_command([*VIDEOFLIX, "storage", "init", "--ini", "production.ini"], project, env, "init")
    assert first.proc.wait(60) == 0, first.output
    assert f"bucket {bucket}: created" in first.output
    seaweedfs.client().head_bucket(Bucket=bucket)  # it is there
    again = run_command([*VIDEOFLIX, "storage", "init", "--ini", "production.ini"], project, env, "again")
    assert again.proc.wait(60) == 0 and f"bucket {bucket}: exists" in again.output

    wrong = {**env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    refused = run_command([*VIDEOFLIX, "storage", "init", "--ini", "production.ini"], project, wrong, "wrong")
    assert refused.proc.wait(60) == 1
    assert "the store is unavailable or refused us" in refused.output and "Traceback" not in refused.output

    unset = {**env, "S3_BUCKET": ""}  # a setting missing: said in one line too
    missing = run_command([*VIDEOFLIX, "storage", "init", "--ini", "production.ini"], project, unset, "unset")
    assert missing.proc.wait(60) == 2 and "needs S3_BUCKET" in missing.output and "Traceback" not in missing.output
