"""The S3 backend: objects in one bucket of any S3-compatible endpoint, through boto3.

boto3 was chosen over obstore by measurement and by need (bench/s3_clients.py): on SeaweedFS here both
move segments at the speed of the store, while boto3 alone also does what the service needs besides objects
(bucket CORS, listing and aborting multipart uploads for the sweep) and its client is thread-safe, which
the web tier's threads and the workers' thread pool rely on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import ObjectInfo, Opened, StorageUnavailable
from .keys import check_key

CHUNK = 1024 * 1024
#: answers that mean "this object is not there", as opposed to "the store is not usable"
MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}


def s3_client(endpoint_url: str | None, access_key: str | None, secret_key: str | None, region: str = "us-east-1"):
    """A boto3 S3 client. Path-style addressing for a custom endpoint (SeaweedFS, MinIO: no wildcard DNS);
    short connect timeouts and boto3's standard retries, so a store that is down fails a request in seconds."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
        # checksums only where S3 requires them: boto3's default CRC32 of every body costs more than the
        # transfer on a fast link (measured: bench/s3_clients.py), and TLS already protects the bytes
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url or None, aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None, region_name=region or "us-east-1", config=config,
    )  # fmt: skip


@contextlib.contextmanager
def unavailable_on_failure(what: str):
    """botocore's errors as StorageUnavailable (what callers handle), missing objects excepted."""
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in MISSING:
            raise FileNotFoundError(what) from exc
        raise StorageUnavailable(f"{what}: {exc.response.get('Error', {}).get('Code', 'error')}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"{what}: {type(exc).__name__}") from exc


class S3Storage:
    backend = "s3"

    def __init__(self, client, bucket: str, signer=None):
        self.client = client
        self.bucket = bucket
        self.signer = signer or client  # a client of the endpoint as browsers reach it (S3_PUBLIC_URL)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        with unavailable_on_failure(f"storing {key}"):
            self.client.upload_file(str(path), self.bucket, check_key(key), ExtraArgs=extra)

    def prepare(self) -> bool:
        """Create the bucket if it is missing; whether it was created."""
        try:
            with unavailable_on_failure(f"looking for bucket {self.bucket}"):
                self.client.head_bucket(Bucket=self.bucket)
            return False
        except FileNotFoundError:
            with unavailable_on_failure(f"creating bucket {self.bucket}"):
                self.client.create_bucket(Bucket=self.bucket)
            return True

    def adopt(self, key: str, source: Path | str) -> None:
        if isinstance(source, str):  # an object of this bucket (a finished resumable upload): copied in place
            self.copy(source, key)
        else:
            self.put_file(key, source)

    def copy(self, source_key: str, key: str) -> None:
        """A server-side copy (multipart for large objects): no byte passes through this process."""
        with unavailable_on_failure(f"copying {source_key}"):
            self.client.copy({"Bucket": self.bucket, "Key": check_key(source_key)}, self.bucket, check_key(key))

    # -- multipart uploads: a large object sent in parts over several requests (resumable uploads) ---------
    def begin_multipart(self, key: str) -> str:
        with unavailable_on_failure(f"starting {key}"):
            return self.client.create_multipart_upload(Bucket=self.bucket, Key=check_key(key))["UploadId"]

    def put_part(self, key: str, upload_id: str, number: int, path: Path) -> str:
        """Part `number` (from 1; at least 5 MiB but the last) from a local file; its ETag."""
        with unavailable_on_failure(f"storing part {number} of {key}"), path.open("rb") as body:
            answer = self.client.upload_part(
                Bucket=self.bucket, Key=check_key(key), UploadId=upload_id, PartNumber=number, Body=body
            )
        return answer["ETag"]

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        listed = [{"PartNumber": number, "ETag": etag} for number, etag in parts]
        with unavailable_on_failure(f"completing {key}"):
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=check_key(key), UploadId=upload_id, MultipartUpload={"Parts": listed}
            )

    def abort_multipart(self, key: str, upload_id: str) -> None:
        with contextlib.suppress(FileNotFoundError), unavailable_on_failure(f"aborting {key}"):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=check_key(key), UploadId=upload_id)

    def multipart_uploads(self, prefix: str) -> Iterator[tuple[str, str, float]]:
        """(key, upload id, started) of the unfinished multipart uploads under `prefix`."""
        pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=prefix)
        with unavailable_on_failure("listing multipart uploads"):
            for page in pages:
                for item in page.get("Uploads", []):
                    yield item["Key"], item["UploadId"], item["Initiated"].timestamp()

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        with unavailable_on_failure(f"storing {key}"):
            self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data, **extra)

    def info(self, key: str) -> ObjectInfo | None:
        try:
            with unavailable_on_failure(f"reading {key}"):
                head = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except FileNotFoundError:
            return None
        return ObjectInfo(key=key, size=head["ContentLength"], etag=head["ETag"],
                          modified=head["LastModified"].timestamp())  # fmt: skip

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        ranged = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
        with unavailable_on_failure(f"reading {key}"):
            body = self.client.get_object(Bucket=self.bucket, Key=check_key(key), **ranged)["Body"]
        with contextlib.closing(body), unavailable_on_failure(f"reading {key}"):
            yield from body.iter_chunks(CHUNK)

    def open(self, key: str) -> Opened | None:
        try:
            with unavailable_on_failure(f"reading {key}"):
                answer = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except FileNotFoundError:
            return None
        info = ObjectInfo(key=key, size=answer["ContentLength"], etag=answer["ETag"],
                          modified=answer["LastModified"].timestamp())  # fmt: skip
        body = answer["Body"]
        return Opened(info, body.iter_chunks(CHUNK), body.close)

    def download(self, key: str, path: Path) -> None:
        with unavailable_on_failure(f"reading {key}"):
            self.client.download_file(self.bucket, check_key(key), str(path))

    def keys(self, prefix: str) -> Iterator[str]:
        for info in self.objects(prefix):
            yield info.key

    def objects(self, prefix: str) -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=check_key(prefix, folder=True) if prefix else ""
        )
        with unavailable_on_failure(f"listing {prefix or 'the bucket'}"):
            for page in pages:
                for item in page.get("Contents", []):
                    yield ObjectInfo(key=item["Key"], size=item["Size"], etag=item["ETag"],
                                     modified=item["LastModified"].timestamp())  # fmt: skip

    def delete(self, key: str) -> None:
        with unavailable_on_failure(f"deleting {key}"):
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self.keys(check_key(prefix, folder=True)))
        for start in range(0, len(keys), 1000):  # S3 deletes up to 1000 keys a request
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            with unavailable_on_failure(f"deleting {prefix}"):
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(keys)

    def presigned_url(self, key: str, expires: int) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": check_key(key)}, ExpiresIn=expires
        )

    def browser_url(self, key: str, expires: int) -> str:
        return self.signer.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": check_key(key)}, ExpiresIn=expires
        )
