"""Login, logout, current user, user administration and the access-audit log over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import RedirectResponse

from yilian.kit.access_log import audit_row_dict, list_access, record_access
from yilian.kit.auth import service
from yilian.kit.auth.deps import (
    COOKIE_NAME,
    AreaRouter,
    CurrentActor,
    SessionDep,
    bearer_or_cookie,
    client_ip,
    require,
)
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.auth.schemas import LoginRequest, MeRead, TokenRead, UserCreate, UserRead, UserUpdate
from yilian.kit.bounds import IdPath, OptionalIdQuery
from yilian.kit.errors import InvalidCredentials, Unauthorized
from yilian.kit.paging import Page, PagingDep
from yilian.kit.settings import get_settings

router = AreaRouter(prefix="/api/v1", tags=["账号与登录"])
web_router = AreaRouter(include_in_schema=False)


@router.post("/auth/token", response_model=TokenRead, summary="登录并获取令牌")
def issue_token(body: LoginRequest, request: Request, session: SessionDep) -> TokenRead:
    """Log in with user name and password; returns a bearer token."""
    ip = client_ip(request)
    result = service.login(session, body.username, body.password, ip=ip)
    if result.user is None:
        session.commit()  # keep the failed attempt for rate limiting
        raise InvalidCredentials()
    token = service.open_session(session, result.user, channel="api", ip=ip)
    record_access(session, service.actor_for(result.user, ip=ip), action="login", resource="auth/token")
    return TokenRead(access_token=token, user=UserRead.model_validate(result.user))


@router.post("/auth/logout", status_code=204, summary="退出登录")
def logout(request: Request, session: SessionDep, actor: CurrentActor) -> None:
    """End the current session."""
    token = bearer_or_cookie(request)
    if token:
        service.revoke_token(session, token)
    record_access(session, actor, action="logout", resource="auth/logout")


@router.get("/auth/me", response_model=MeRead, summary="当前用户")
def me(actor: CurrentActor) -> MeRead:
    """Return who is logged in and what they may do."""
    return MeRead(
        user_id=actor.user_id,
        username=actor.username,
        display_name=actor.display_name,
        role=actor.role,
        role_label=actor.role.label,
        institution_id=actor.institution_id,
        patient_id=actor.patient_id,
        practitioner_id=actor.practitioner_id,
        permissions=sorted(p.value for p in actor.permissions),
    )


UserAdmin = Annotated[Actor, require(Permission.USER_MANAGE)]


@router.get("/users", response_model=Page[UserRead], summary="用户列表")
def list_users(session: SessionDep, _actor: UserAdmin, paging: PagingDep) -> Page[UserRead]:
    rows, total = service.list_users(session, offset=paging.offset, limit=paging.limit)
    return Page[UserRead](
        items=[UserRead.model_validate(u) for u in rows], total=total, **paging.model_dump()
    )


@router.post("/users", response_model=UserRead, status_code=201, summary="新建用户")
def create_user(body: UserCreate, session: SessionDep, _actor: UserAdmin) -> UserRead:
    user = service.create_user(session, **body.model_dump())
    return UserRead.model_validate(user)


@router.patch(
    "/users/{user_id}", response_model=UserRead, summary="修改用户（停用 / 启用、重置密码、角色与机构）"
)
def update_user(user_id: IdPath, body: UserUpdate, session: SessionDep, actor: UserAdmin) -> UserRead:
    user = service.update_user(session, actor, user_id, **body.model_dump(exclude_unset=True))
    return UserRead.model_validate(user)


@router.get("/audit/access", summary="访问审计日志")
def access_log(
    session: SessionDep,
    _actor: Annotated[Actor, require(Permission.AUDIT_READ)],
    paging: PagingDep,
    patient_id: OptionalIdQuery = None,
    user_id: OptionalIdQuery = None,
    action: str | None = None,
) -> dict[str, Any]:
    """Return access-audit rows, newest first."""
    rows, total = list_access(
        session, patient_id=patient_id, user_id=user_id, action=action, **paging.model_dump()
    )
    return {"items": [audit_row_dict(r) for r in rows], "total": total, **paging.model_dump()}


@web_router.get("/auth/complete")
def complete_login(ticket: str, session: SessionDep, request: Request, next: str = "/") -> RedirectResponse:
    """Exchange the login page's one-time ticket for the session cookie, then go on."""
    token = service.exchange_ticket(session, ticket)
    actor = service.resolve_token(session, token, ip=client_ip(request), channel="web")
    record_access(session, actor, action="login", resource="web/login", channel="web")
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        token,
        httponly=True,
        samesite="lax",
        secure=get_settings().cookie_secure,
        max_age=get_settings().session_ttl_hours * 3600,
    )
    return response


@web_router.get("/auth/logout")
def web_logout(request: Request, session: SessionDep) -> RedirectResponse:
    """Revoke the cookie's session and return to the login page."""
    token = request.cookies.get(COOKIE_NAME)
    if token:
        try:
            actor = service.resolve_token(session, token, ip=client_ip(request), channel="web")
            record_access(session, actor, action="logout", resource="web/logout", channel="web")
        except Unauthorized:
            pass
        service.revoke_token(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME)
    return response
