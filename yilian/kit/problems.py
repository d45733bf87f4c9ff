"""Render every error of the app as RFC 9457 problem+json (Chinese ``title``, English ``code``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from yilian.kit.errors import PROBLEM_BASE, YilianError

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger("yilian.errors")


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """Return a problem+json response for ``body``."""
    return JSONResponse(body, status_code=int(body["status"]), media_type=PROBLEM_JSON, headers=headers)


_HTTP_TITLES = {
    400: ("bad_request", "请求无法处理"),
    401: ("unauthorized", "未登录或登录已过期"),
    403: ("forbidden", "没有权限"),
    404: ("not_found", "页面或记录不存在"),
    405: ("method_not_allowed", "不支持的请求方法"),
    409: ("conflict", "与现有数据冲突"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}

_VALIDATION_MESSAGES = {
    "missing": "必填",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "应为整数",
    "date_from_datetime_parsing": "应为日期 (YYYY-MM-DD)",
    "date_parsing": "应为日期 (YYYY-MM-DD)",
    "enum": "不在可选值内",
    "literal_error": "不在可选值内",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "extra_forbidden": "不允许的字段",
    "json_invalid": "不是有效的 JSON",
}


def install_handlers(app: FastAPI) -> None:
    """Render every error of the app as problem+json."""

    @app.exception_handler(YilianError)
    async def _yilian(request: Request, exc: YilianError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.problem(str(request.url.path)), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": _VALIDATION_MESSAGES.get(err.get("type", ""), err.get("msg", "")),
                "type": err.get("type"),
            }
            for err in exc.errors()
        ]
        body = {
            "type": PROBLEM_BASE + "validation_error",
            "title": "请求数据格式错误",
            "status": 422,
            "detail": "；".join(f"{e['field']}: {e['message']}" for e in errors),
            "code": "validation_error",
            "instance": str(request.url.path),
            "errors": errors,
        }
        return problem_response(body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _HTTP_TITLES.get(exc.status_code, ("http_error", "请求失败"))
        body = {
            "type": PROBLEM_BASE + code,
            "title": title,
            "status": exc.status_code,
            "detail": str(exc.detail) if exc.detail else title,
            "code": code,
            "instance": str(request.url.path),
        }
        return problem_response(body, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        body = {
            "type": PROBLEM_BASE + "internal_error",
            "title": "系统内部错误",
            "status": 500,
            "detail": "系统内部错误，已记录，请联系信息科",
            "code": "internal_error",
            "instance": str(request.url.path),
        }
        return problem_response(body)
