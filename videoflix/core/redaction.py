"""What may be shown of a server's own words: error text from FFmpeg, the store or a worker names a file by its
last part only, never by a server path, an internal host or a signed URL.

A source on S3 is read through a signed URL valid for hours; FFmpeg repeats its input's name in its errors, and
an error becomes `video.error` (the console, the status endpoint) and log lines. Both tiers pass such text
through `redact` before it is stored, shown or logged.
"""

from __future__ import annotations

import re

#: a URL with a scheme and a host (`http://store:8333/bucket/key?X-Amz-Signature=...`), up to white space or a
#: quote: replaced by the last part of its path, without its query or fragment
URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]*")
#: an absolute path (or `file:` URL) left after that: all but its last part is left out
SERVER_PATH = re.compile(r"(?:file:(?://)?)?/(?:[^/\s'\"]+/)+(?=[^/\s'\"]*)")
#: what remains of a signature passed outside a URL (`X-Amz-Signature=...`, `Signature=...`, `token=...`)
SIGNED_PARAMETER = re.compile(
    r"(?i)\b(x-amz-[a-z-]+|signature|awsaccesskeyid|token|credential|security-token|expires)=[^\s&'\"]+"
)


def _last_part(match: re.Match) -> str:
    url = match.group(0)
    if url.lower().startswith("file:"):
        return url  # SERVER_PATH's work
    path = url.split("?", 1)[0].split("#", 1)[0]
    _, _, after_host = path.partition("://")
    parts = [part for part in after_host.split("/")[1:] if part]
    return parts[-1] if parts else "(a URL)"


def redact(text: str) -> str:
    """`text` with every URL named by its path's last part, every absolute path by its last part, and any
    signed parameter's value removed."""
    text = URL.sub(_last_part, text)
    text = SERVER_PATH.sub("", text)
    return SIGNED_PARAMETER.sub(lambda m: f"{m.group(1)}=…", text)
