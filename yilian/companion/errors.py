"""Typed errors of the companion area (rendered as problem+json with a Chinese title)."""

from __future__ import annotations

from yilian.kit.errors import Forbidden, InvalidInput, NotFound


class InvalidFollow(InvalidInput):
    code = "companion_invalid_follow"
    title = "云伴诊授权不合法"


class FollowNotFound(NotFound):
    code = "companion_follow_not_found"
    title = "云伴诊授权不存在"


class NotYourFollow(Forbidden):
    code = "companion_not_your_follow"
    title = "无权查看此云伴诊"
