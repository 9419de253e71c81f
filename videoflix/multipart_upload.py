"""Receiving a multipart upload straight to disk (resumable uploads: services/resumable_uploads.py; what a
received file is, for both: inspection.py).

The body is parsed as a stream (the `multipart` package's push parser) in 1 MiB chunks: the file part goes
to `MEDIA_ROOT/uploads/<uuid>.part` as it arrives, so memory stays flat whatever the size; the other
fields are small and capped. Any failure removes the partial file. (waitress has already spooled the
request body to its own temporary file before the app runs, so a dropped connection never gets here.)
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from multipart import (
    MultipartError,
    MultipartSegment,
    ParserLimitReached,
    PushMultipartParser,
    parse_options_header,
)

from videoflix.core.containers import SNIFF_BYTES

from .errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

CHUNK = 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024
MULTIPART_OVERHEAD = 1024 * 1024  # headers and fields around the file: allowed on top of the file limit


@dataclass
class ReceivedUpload:
    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None  # the received file part, if any
    filename: str = ""
    size: int = 0
    head: bytes = b""  # the first bytes, for sniffing the container

    def discard(self) -> None:
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.path = None


def receive(request, folder: Path, max_file_size: int, file_field: str = "file") -> ReceivedUpload:
    """Parse a multipart/form-data body: text fields into `fields`, the `file_field` part onto disk."""
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType("Send the upload as multipart/form-data.")
    boundary = parse_options_header(request.headers.get("Content-Type", ""))[1].get("boundary")
    if not boundary:
        raise InvalidInput("The multipart body has no boundary.")
    if request.content_length is not None and request.content_length > max_file_size + MULTIPART_OVERHEAD:
        raise too_large(max_file_size)

    folder.mkdir(parents=True, exist_ok=True)
    received = ReceivedUpload()
    parser = PushMultipartParser(
        boundary, content_length=request.content_length or -1, max_segment_count=16, max_header_count=8
    )
    current: MultipartSegment | None = None
    sink = None
    text: bytearray = bytearray()
    try:
        for event in parser.parse_blocking(request.body_file.read, CHUNK):
            if isinstance(event, MultipartSegment):
                current, text = event, bytearray()
                if event.name == file_field and event.filename is not None:
                    if received.path is not None:
                        raise InvalidInput.field(file_field, "Send exactly one file.")
                    received.path = folder / f"{uuid.uuid4().hex}.part"
                    received.filename = Path(event.filename.replace("\\", "/")).name[:255]
                    sink = received.path.open("wb")
            elif event is None:
                if sink is not None:
                    sink.close()
                    sink = None
                elif current is not None and current.name:
                    received.fields[current.name] = text.decode("utf-8", "replace")
                current = None
            elif sink is not None:
                received.size += len(event)
                if received.size > max_file_size:
                    raise too_large(max_file_size)
                if len(received.head) < SNIFF_BYTES:
                    received.head += event[: SNIFF_BYTES - len(received.head)]
                sink.write(event)
            else:
                text += event
                if len(text) > MAX_FIELD_BYTES:
                    raise PayloadTooLarge(f"A form field is larger than {MAX_FIELD_BYTES} bytes.")
    except ParserLimitReached:
        received.discard()
        raise InvalidInput("The multipart body has too many parts or headers.") from None
    except MultipartError:
        received.discard()
        raise InvalidInput("The multipart body is malformed or incomplete.") from None
    except BaseException:
        received.discard()
        raise
    finally:
        if sink is not None:
            sink.close()
    return received


def one_request_limit(max_upload_size: int, max_request_body: int) -> int:
    """The largest file one multipart request can carry: the upload limit, or what fits in a request body
    (waitress refuses larger bodies before the app runs)."""
    return min(max_upload_size, max_request_body - MULTIPART_OVERHEAD - 1)


def too_large(max_file_size: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the limit of {max_file_size} bytes for one request. Send larger files as a "
        "resumable upload (tus, /api/uploads/), as `videoflix upload` and the console do."
    )
