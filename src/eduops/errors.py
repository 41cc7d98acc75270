"""Error types: each carries the message a user reads, a CLI exit code and an HTTP status."""

from __future__ import annotations


class EduopsError(Exception):
    """Something went wrong; the message says what and what to do."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(EduopsError):
    """The input is wrong: a bad argument, file or value."""

    exit_code = 2
    http_status = 400


class ConfigError(UsageError):
    """eduops.toml or an EDUOPS_* variable holds a value that cannot be used."""


class ValidationFailed(UsageError):
    """A request body or a file was understood but breaks a rule."""

    http_status = 422


class PayloadTooLarge(UsageError):
    http_status = 413


class NotFound(EduopsError):
    exit_code = 2
    http_status = 404


class Conflict(EduopsError):
    exit_code = 1
    http_status = 409


class PermissionDenied(EduopsError):
    exit_code = 1
    http_status = 403


class Unauthenticated(EduopsError):
    exit_code = 1
    http_status = 401


class ServiceUnavailable(EduopsError):
    """A dependency (database, target, tool) could not be reached."""

    exit_code = 3
    http_status = 503
