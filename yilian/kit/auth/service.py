"""Accounts and login sessions: create users, log in with rate limiting, resolve tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import ROLE_PERMISSIONS, STAFF_ROLES, Actor, Permission, Role
from yilian.kit.auth.models import AuthSession, LoginAttempt, User
from yilian.kit.auth.passwords import hash_password, password_problem, verify_password
from yilian.kit.clock import utcnow
from yilian.kit.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TokenExpired,
    TooManyRequests,
    Unauthorized,
    found,
)
from yilian.kit.settings import get_settings

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
TICKET_TTL = timedelta(seconds=60)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    display_name: str,
    institution_id: int | None = None,
    practitioner_id: int | None = None,
    patient_id: int | None = None,
) -> User:
    """Create an account after checking name, role, password strength and links."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise InvalidInput("用户名须为 3–64 位小写字母、数字、下划线、点或连字符，并以字母或数字开头")
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidInput(f"未知角色: {role}") from exc
    if (problem := password_problem(password)) is not None:
        raise InvalidInput(problem)
    if role in STAFF_ROLES and role is not Role.ADMIN and institution_id is None:
        raise InvalidInput(f"{role.label}账号必须指定所属机构")
    if role in (Role.PATIENT, Role.FAMILY) and patient_id is None:
        raise InvalidInput(f"{role.label}账号必须关联患者主索引记录")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名已存在: {username}")
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=hash_password(password),
        role=role.value,
        institution_id=institution_id,
        practitioner_id=practitioner_id,
        patient_id=patient_id,
        is_active=True,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:
        raise InvalidInput("所属机构、医生或患者记录不存在") from exc
    return user


def actor_for(user: User, *, ip: str | None = None, channel: str = "api") -> Actor:
    """Return the acting identity of ``user``."""
    role = Role(user.role)
    return Actor(
        user_id=user.id,
        username=user.username,
        role=role,
        display_name=user.display_name,
        institution_id=user.institution_id,
        patient_id=user.patient_id,
        practitioner_id=user.practitioner_id,
        permissions=ROLE_PERMISSIONS[role],
        ip=ip,
        channel=channel,
    )


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt; ``user`` is None when refused."""

    user: User | None


def check_rate_limit(session: Session, username: str) -> None:
    """Refuse further attempts after too many recent failures for one user name."""
    settings = get_settings()
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    failures = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, LoginAttempt.at >= since, LoginAttempt.success.is_(False))
    )
    if (failures or 0) >= settings.login_max_failures:
        raise TooManyRequests(
            f"登录失败次数过多，请 {settings.login_window_minutes} 分钟后再试",
            retry_after_minutes=settings.login_window_minutes,
        )


def login(session: Session, username: str, password: str, *, ip: str | None = None) -> LoginResult:
    """Check a password and record the attempt; raises TooManyRequests when rate-limited.

    The caller commits even when the login is refused, so that failures are counted.
    """
    username = username.strip().lower()
    check_rate_limit(session, username)
    user = session.scalar(select(User).where(User.username == username))
    ok = user is not None and user.is_active and verify_password(user.password_hash, password)
    session.add(LoginAttempt(username=username[:64], ip=ip, at=utcnow(), success=ok))
    if ok and user is not None:
        user.last_login_at = utcnow()
        session.flush()
        return LoginResult(user)
    session.flush()
    return LoginResult(None)


def open_session(session: Session, user: User, *, channel: str = "api", ip: str | None = None) -> str:
    """Open a login session and return its bearer token (shown once, stored hashed)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        AuthSession(
            user_id=user.id,
            token_hash=_digest(token),
            channel=channel,
            created_at=now,
            expires_at=now + timedelta(hours=get_settings().session_ttl_hours),
            ip=ip,
        )
    )
    session.flush()
    return token


def open_ticket(session: Session, user: User, *, ip: str | None = None) -> str:
    """Open a web session that waits for its one-time ticket to be exchanged for a cookie."""
    ticket = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        AuthSession(
            user_id=user.id,
            ticket_hash=_digest(ticket),
            channel="web",
            created_at=now,
            expires_at=now + TICKET_TTL,
            ip=ip,
        )
    )
    session.flush()
    return ticket


def exchange_ticket(session: Session, ticket: str) -> str:
    """Exchange a fresh one-time ticket for a session token; a ticket works once, within a minute."""
    row = session.scalar(select(AuthSession).where(AuthSession.ticket_hash == _digest(ticket)))
    now = utcnow()
    if row is None or row.token_hash is not None or row.revoked_at is not None:
        raise Unauthorized("登录凭据无效，请重新登录")
    if row.expires_at <= now:
        raise TokenExpired("登录凭据已过期，请重新登录")
    token = secrets.token_urlsafe(32)
    row.ticket_hash = None
    row.token_hash = _digest(token)
    row.expires_at = now + timedelta(hours=get_settings().session_ttl_hours)
    session.flush()
    return token


# Verified tokens, kept in the process for a short while so a request does not read the database to
# know who is asking. A token revoked in this process (log out) is dropped at once; revoked through
# another worker, it is refused there within TOKEN_CACHE_SECONDS. Expiry is checked on every request.
TOKEN_CACHE_SECONDS = 30.0
TOKEN_CACHE_MAX = 50_000


@dataclass(frozen=True)
class _Verified:
    actor: Actor
    expires_at: datetime
    checked_at: float  # time.monotonic()


_verified: dict[str, _Verified] = {}
_verified_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop every verified token of this process (accounts changed)."""
    with _verified_lock:
        _verified.clear()


def cached_actor(token: str, *, ip: str | None = None, channel: str = "api") -> Actor | None:
    """Return the actor of a token verified in this process less than ``TOKEN_CACHE_SECONDS`` ago
    (no database read), None when it must be read; raises TokenExpired when it has expired."""
    hit = _verified.get(_digest(token))
    if hit is None or time.monotonic() - hit.checked_at >= TOKEN_CACHE_SECONDS:
        return None
    if hit.expires_at <= utcnow():
        raise TokenExpired()
    return replace(hit.actor, ip=ip, channel=channel)


def resolve_token(session: Session, token: str, *, ip: str | None = None, channel: str = "api") -> Actor:
    """Return the actor of a session token; raises Unauthorized or TokenExpired."""
    actor = cached_actor(token, ip=ip, channel=channel)
    if actor is not None:
        return actor
    digest = _digest(token)
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == digest))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("登录凭据无效，请重新登录")
    if row.expires_at <= utcnow():
        raise TokenExpired()
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("账号已停用")
    actor = actor_for(user, ip=ip, channel=channel)
    with _verified_lock:
        if len(_verified) >= TOKEN_CACHE_MAX:
            _verified.clear()
        _verified[digest] = _Verified(actor, row.expires_at, time.monotonic())
    return actor


def revoke_token(session: Session, token: str) -> None:
    """End the session of ``token`` (log out); unknown tokens are ignored."""
    digest = _digest(token)
    with _verified_lock:
        _verified.pop(digest, None)
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == digest))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()


def get_user(session: Session, user_id: int) -> User:
    """Return a user or raise NotFound."""
    return found(session.get(User, user_id), NotFound("用户不存在"))


def list_users(session: Session, *, offset: int = 0, limit: int = 50) -> tuple[list[User], int]:
    """Return a page of users and the total count."""
    total = session.scalar(select(func.count()).select_from(User)) or 0
    rows = session.scalars(select(User).order_by(User.id).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def every_user(session: Session) -> list[User]:
    """All accounts in id order (for the CLI's list of demo accounts)."""
    return list(session.scalars(select(User).order_by(User.id)))


def patients_with_accounts(session: Session) -> set[int]:
    """The patients who have an account of their own (for seeding demo data)."""
    return set(session.scalars(select(User.patient_id).where(User.patient_id.is_not(None))))


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a user's password after the strength check."""
    if (problem := password_problem(password)) is not None:
        raise InvalidInput(problem)
    user.password_hash = hash_password(password)
    session.flush()
    forget_tokens()


def update_user(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    display_name: str | None = None,
    role: Role | str | None = None,
    institution_id: int | None = None,
    is_active: bool | None = None,
    new_password: str | None = None,
) -> User:
    """Change an account (用户管理): name, role, institution, enabled, or a new password set by the
    administrator. Disabling or a new password ends the user's open sessions; every change writes an
    access-audit row naming what changed (never the password)."""
    if not actor.has(Permission.USER_MANAGE):
        raise Forbidden("没有用户管理权限")
    user = get_user(session, user_id)
    changed: list[str] = []
    if display_name is not None and display_name.strip() and display_name.strip() != user.display_name:
        user.display_name = display_name.strip()[:64]
        changed.append("姓名")
    try:
        new_role = Role(role) if role is not None else Role(user.role)
    except ValueError as exc:
        raise InvalidInput(f"未知角色: {role}") from exc
    if new_role.value != user.role:
        if new_role in (Role.PATIENT, Role.FAMILY) and user.patient_id is None:
            raise InvalidInput(f"{new_role.label}账号必须关联患者主索引记录")
        user.role = new_role.value
        changed.append("角色")
    if institution_id is not None and institution_id != user.institution_id:
        user.institution_id = institution_id
        changed.append("所属机构")
    if Role(user.role) in STAFF_ROLES and Role(user.role) is not Role.ADMIN and user.institution_id is None:
        raise InvalidInput(f"{Role(user.role).label}账号必须指定所属机构")
    end_sessions = False
    if is_active is not None and is_active != user.is_active:
        if user.id == actor.user_id and not is_active:
            raise InvalidInput("不能停用自己的账号")
        user.is_active = is_active
        changed.append("启用" if is_active else "停用")
        end_sessions = not is_active
    if new_password:
        set_password(session, user, new_password)
        changed.append("重置密码")
        end_sessions = True
    if end_sessions:
        now = utcnow()
        for row in session.scalars(
            select(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        ):
            row.revoked_at = now
        forget_tokens()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise InvalidInput("所属机构不存在") from exc
    if changed:
        record_access(
            session,
            actor,
            action="user_update",
            resource=f"users/{user.id} {user.username}",
            reason="、".join(changed),
        )
    return user
