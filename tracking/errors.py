"""Errors in MLflow's shape: an error code and a message, with the HTTP status MLflow gives it."""
from __future__ import annotations

HTTP_STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "RESOURCE_CONFLICT": 409,
    "ENDPOINT_NOT_FOUND": 404,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "TEMPORARILY_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}


class TrackingError(Exception):
    """Refused by the tracking API; `code` is one of MLflow's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)

    def body(self) -> dict[str, str]:
        return {"error_code": self.code, "message": self.message}


def invalid(message: str) -> TrackingError:
    return TrackingError("INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> TrackingError:
    return TrackingError("RESOURCE_DOES_NOT_EXIST", message)


def denied(message: str) -> TrackingError:
    return TrackingError("PERMISSION_DENIED", message)
