"""Resumable uploads over the tus 1.0.0 protocol (https://tus.io/protocols/resumable-upload): core, creation,
termination and expiration. Any tus client works (the console uses tus-js-client; tests also use tuspy).

    POST   /api/uploads/        Upload-Length, Upload-Metadata (title, description, category, filename)
                                -> 201, Location: /api/uploads/<id>/
    HEAD   /api/uploads/<id>/   -> Upload-Offset, Upload-Length (where to resume)
    PATCH  /api/uploads/<id>/   Upload-Offset, Content-Type: application/offset+octet-stream, a chunk
                                -> 204, Upload-Offset; the last chunk answers X-Video-Id too
    DELETE /api/uploads/<id>/   -> 204 (abandon)

waitress reads a request's whole body before the app sees it, so what a dropped connection had sent of its
chunk is lost: a client resumes from the last chunk that arrived whole. Send chunks (the console sends
16 MiB), not the whole file in one PATCH.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..errors import InvalidInput, UnsupportedMediaType, VideoflixError
from ..metrics import UPLOADS, count_upload
from ..schemas import deserialize
from ..schemas.videos import UploadSchema
from ..security import STAFF
from ..services.resumable_uploads import expires_header
from .errors import render

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
CHUNK_TYPE = "application/offset+octet-stream"


class PreconditionFailed(VideoflixError):
    status = 412
    detail = f"This server speaks tus {TUS_VERSION}: send Tus-Resumable: {TUS_VERSION}."


def tus_request(request) -> None:
    """Every tus request but OPTIONS names the protocol version; every answer carries it."""
    request.add_response_callback(lambda _request, response: response.headers.update({"Tus-Resumable": TUS_VERSION}))
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        error = PreconditionFailed()
        error.headers["Tus-Version"] = TUS_VERSION
        raise error


def byte_count(request, header: str) -> int:
    raw = request.headers.get(header)
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 15:
        raise InvalidInput.field(header, "Required: a whole number of bytes.")
    return int(raw)


def parse_metadata(raw: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs (a key alone means an empty value)."""
    fields: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            fields[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput.field("Upload-Metadata", f"The value of {key!r} is not base64 of UTF-8 text.") from None
    return fields


def upload_url(request, upload) -> str:
    return request.route_url("uploads.detail", id=upload.id)


@view_config(route_name="uploads.collection", request_method="OPTIONS", permission=NO_PERMISSION_REQUIRED)
def discover(request):
    """What this server supports (tus discovery)."""
    settings = request.registry["videoflix.settings"]
    return Response(
        status=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(settings.max_upload_size),
        },
    )


@view_config(route_name="uploads.collection", request_method="POST", permission=STAFF)
def create(request):
    """A new upload: its length and the form's fields, checked now (the bytes follow in PATCH requests)."""
    tus_request(request)
    if "Upload-Defer-Length" in request.headers:
        raise InvalidInput("Upload-Defer-Length is not supported: send Upload-Length.")
    if request.content_length:
        raise InvalidInput("Send the bytes in PATCH requests (creation-with-upload is not supported).")
    length = byte_count(request, "Upload-Length")
    if length == 0:
        raise InvalidInput.field("Upload-Length", "An empty file is not a video.")
    raw = parse_metadata(request.headers.get("Upload-Metadata", ""))
    fields = deserialize(UploadSchema(), {k: raw[k] for k in ("title", "description", "category") if k in raw})
    filename = raw.get("filename") or raw.get("name") or ""
    fields["filename"] = Path(filename.replace("\\", "/")).name[:255]
    upload = request.resumable_uploads.create(request.identity, length, fields)
    headers = {"Location": upload_url(request, upload), "Upload-Offset": "0", "Upload-Expires": expires_header(upload)}
    return Response(status=201, headers=headers)


def progress_headers(upload) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length), "Cache-Control": "no-store"}
    if upload.video_id is not None:
        headers["X-Video-Id"] = str(upload.video_id)
    else:
        headers["Upload-Expires"] = expires_header(upload)
    return headers


@view_config(route_name="uploads.detail", request_method="HEAD", permission=STAFF)
def offset(request):
    """Where to resume; X-Video-Id once the upload has become a video."""
    tus_request(request)
    upload = request.resumable_uploads.get(request.matchdict["id"], request.identity)
    return Response(status=200, headers=progress_headers(upload))


@view_config(route_name="uploads.detail", request_method="PATCH", permission=STAFF)
def append(request):
    """A chunk at the upload's offset. The first bytes must start a video container and the whole file must
    be readable as a video: if not, the upload is removed and the answer says why (4xx, not retried)."""
    tus_request(request)
    if request.content_type != CHUNK_TYPE:
        raise UnsupportedMediaType(f"Send the chunk as {CHUNK_TYPE}.")
    at = byte_count(request, "Upload-Offset")
    uploads = request.resumable_uploads
    upload = uploads.get(request.matchdict["id"], request.identity, lock=True)
    before = upload.offset
    uploads.append(upload, at, request.body_file.read)
    if upload.video_id is None:
        try:
            uploads.check_head(upload, before)
            uploads.send_part(upload)
            if upload.offset == upload.length:
                uploads.finish(upload, request.videos, request.identity)
                count_upload(request.tm.get(), upload.length)
        except (InvalidInput, UnsupportedMediaType) as exc:
            uploads.terminate(upload)  # returned, not raised: the removal commits
            UPLOADS.labels("rejected").inc()
            return render(request, exc)
    return Response(status=204, headers=progress_headers(upload))


@view_config(route_name="uploads.detail", request_method="DELETE", permission=STAFF)
def terminate(request):
    """Abandon an upload: its bytes are removed (a finished upload's video stays)."""
    tus_request(request)
    uploads = request.resumable_uploads
    uploads.terminate(uploads.get(request.matchdict["id"], request.identity, lock=True))
    return Response(status=204)
