"""RFC 9457 problem+json errors with stable machine-readable codes.

Every error the API returns has ``type``, ``title``, ``status``, ``code`` (stable, for
programs), ``detail`` (for people) and, for validation, ``errors`` naming each field.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("xynap.errors")

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """An expected failure with a stable code; raise it anywhere below the API layer."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.code = code or self.code
        self.status = status or self.status
        self.title = title or self.title
        self.errors = errors
        self.headers = headers
        self.extra = extra


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Forbidden"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class ValidationFailed(AppError):
    status, code, title = 422, "validation_error", "Invalid input"


class TooManyRequests(AppError):
    status, code, title = 429, "rate_limited", "Too many requests"


def problem(status: int, code: str, title: str, detail: str, request: Request | None = None,
            errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://xynap.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        rid = getattr(request.state, "request_id", None)
        if rid:
            body["request_id"] = rid
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        where = loc[0] if loc else "body"
        field = ".".join(loc[1:]) if len(loc) > 1 else where
        out.append({"field": field, "in": where, "message": err.get("msg", "invalid"), "type": err.get("type")})
    return out


_STATUS_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_error", "Invalid input"),
    429: ("rate_limited", "Too many requests"),
}


def is_bad_value(exc: DBAPIError) -> bool:
    """The database refused a value the client sent: a NUL character in text (PostgreSQL), a number
    out of the column's range, JSON it cannot store. SQLSTATE class 22 is "data exception"; asyncpg
    refuses parameters it cannot encode before sending them (a ValueError)."""
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(state, str) and state.startswith("22"):
        return True
    cause = getattr(orig, "__cause__", None) or getattr(orig, "__context__", None)
    return isinstance(orig, ValueError) or isinstance(cause, ValueError)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.title, exc.detail, request, exc.errors, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(400, "invalid_json", "Invalid JSON", "The request body is not valid JSON.", request)
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem(422, "validation_error", "Invalid input", f"Invalid value for: {fields}", request, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _STATUS_CODES.get(exc.status_code, ("http_error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem(exc.status_code, code, title, detail, request, headers=getattr(exc, "headers", None))

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return problem(409, "version_conflict", "Edit conflict",
                       "The record was changed by someone else; reload it and apply your change again.", request)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        msg = str(exc.orig).lower()
        if "unique" in msg or "duplicate" in msg:
            return problem(409, "duplicate", "Already exists", "A record with the same unique value exists.", request)
        if "foreign key" in msg:
            return problem(422, "invalid_reference", "Invalid reference", "A referenced record does not exist.",
                           request)
        log.exception("integrity error")
        return problem(409, "integrity_error", "Conflict", "The change violates a data rule.", request)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if is_bad_value(exc):
            log.info("database refused a value on %s %s: %s", request.method, request.url.path, exc.orig)
            return problem(422, "invalid_value", "Invalid input",
                           "A value cannot be stored: it contains characters that are not allowed "
                           "(such as NUL) or lies outside the allowed range.", request)
        log.exception("database error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "Internal error", "Something went wrong on our side.", request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "Internal error", "Something went wrong on our side.", request)


def check_version(obj: Any, expected: int | None) -> None:
    """Optimistic locking across requests: the client sends the version it edited."""
    if expected is not None and getattr(obj, "version", None) != expected:
        raise Conflict(
            "The record was changed by someone else since you loaded it; reload it and apply your change again.",
            code="version_conflict", current_version=getattr(obj, "version", None),
        )
