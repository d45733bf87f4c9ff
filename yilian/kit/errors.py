"""Typed errors carrying an HTTP status and a stable code (pure; rendered by ``kit.problems``).

Each error has a Chinese ``title`` for people and an English ``code`` for programs.
422 is reserved for payload validation; business rules use 400/403/404/409.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

PROBLEM_BASE = "https://yilian.dev/problems/"

T = TypeVar("T")


class YilianError(Exception):
    """Base of all domain and application errors."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "请求无法处理"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """Return the RFC 9457 problem document of this error."""
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(YilianError):
    status = 400
    code = "bad_request"
    title = "请求无法处理"


class InvalidInput(YilianError):
    """A value that breaks a business validation rule (not a payload shape error)."""

    status = 400
    code = "invalid_input"
    title = "输入数据不合法"


class NotFound(YilianError):
    status = 404
    code = "not_found"
    title = "记录不存在"


class Conflict(YilianError):
    status = 409
    code = "conflict"
    title = "与现有数据冲突"


class Unauthorized(YilianError):
    status = 401
    code = "unauthorized"
    title = "未登录或登录已过期"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "用户名或密码错误"


class TokenExpired(Unauthorized):
    code = "token_expired"
    title = "登录已过期，请重新登录"


class Forbidden(YilianError):
    status = 403
    code = "forbidden"
    title = "没有权限"


class TooManyRequests(YilianError):
    status = 429
    code = "too_many_requests"
    title = "请求过于频繁，请稍后再试"


def found(value: T | None, error: YilianError) -> T:
    """Return ``value``, or raise ``error`` when it is ``None``: the get-or-raise of every service
    (``return found(repo.get_x(session, x_id), XNotFound(f"…不存在: {x_id}"))``)."""
    if value is None:
        raise error
    return value
