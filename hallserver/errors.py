"""Domain errors. Every error the hub raises on purpose is a HallError.

The edges map them: HTTP status and a JSON body ``{"error": {"code", "message"}}``
in the API, an error acknowledgement on Socket.IO, a message and exit code in the CLI.
Messages are Vietnamese first; ``message_en`` carries the English.
"""


class HallError(Exception):
    """Base class: a refusal with a machine code, an HTTP status and two messages."""

    status = 400
    code = "bad_request"

    def __init__(self, message, message_en=None, *, code=None):
        super().__init__(message)
        self.message = message
        self.message_en = message_en or message
        if code:
            self.code = code

    def as_dict(self):
        return {"code": self.code, "message": self.message, "message_en": self.message_en}


class BadRequest(HallError):
    status = 400
    code = "bad_request"


class Unauthorized(HallError):
    status = 401
    code = "unauthorized"


class Forbidden(HallError):
    status = 403
    code = "forbidden"


class NotFound(HallError):
    status = 404
    code = "not_found"


class Conflict(HallError):
    status = 409
    code = "conflict"


class TooManyRequests(HallError):
    status = 429
    code = "too_many_requests"


class Busy(HallError):
    """Another process holds the database's write lock longer than a request may wait."""

    status = 503
    code = "busy"
    retry_after_seconds = 2


class StorageFailed(HallError):
    """The database file could not be written (the disk is full or failing): nothing was saved."""

    status = 503
    code = "storage_failed"


class Invalid(HallError):
    status = 422
    code = "invalid"


class ConfigError(HallError):
    """A hall configuration file or value is wrong; the message names the key."""

    status = 422
    code = "invalid_config"
