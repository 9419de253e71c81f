"""Domain errors. Services raise these; one exception view (views/errors.py) turns each into the JSON body
`{"detail": ..., "errors": {field: [messages]}}` with the status named here, so the business code never
builds HTTP responses."""

from __future__ import annotations


class VideoflixError(Exception):
    status = 400
    detail = "Bad request."

    def __init__(self, detail: str | None = None, errors: dict[str, list[str]] | None = None):
        self.detail = detail or self.detail
        self.errors = errors or {}
        #: extra response headers (e.g. Retry-After)
        self.headers: dict[str, str] = {}
        super().__init__(self.detail)


class InvalidInput(VideoflixError):
    status = 400
    detail = "Please check your input and try again."

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        return cls(errors={name: [message]})


class InvalidToken(VideoflixError):
    status = 400
    detail = "This link is invalid or has expired."


class AuthenticationFailed(VideoflixError):
    status = 401
    detail = "Authentication credentials were not provided or are invalid."


class PermissionDenied(VideoflixError):
    status = 403
    detail = "You do not have permission to perform this action."


class NotFound(VideoflixError):
    status = 404
    detail = "Not found."


class Conflict(VideoflixError):
    status = 409
    detail = "The request conflicts with the current state of the resource."


class Locked(VideoflixError):
    status = 423
    detail = "The resource is locked by another request."


class PayloadTooLarge(VideoflixError):
    status = 413
    detail = "Request body is too large."


class UnsupportedMediaType(VideoflixError):
    status = 415
    detail = "Unsupported media type."


class ServiceUnavailable(VideoflixError):
    status = 503


class TooManyRequests(VideoflixError):
    status = 429
    detail = "Too many attempts. Please wait before trying again."

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after
        self.headers["Retry-After"] = str(retry_after)
