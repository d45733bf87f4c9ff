"""FastAPI dependencies: the request's database session, the current actor and permission checks.

The request is the outermost layer: ``TransactionalRoute`` commits the request's session after the
endpoint succeeds (before the response is sent) and rolls it back on any error.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import Scope

from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.auth.service import cached_actor, resolve_token
from yilian.kit.db import session_factory
from yilian.kit.errors import Forbidden, Unauthorized

COOKIE_NAME = "yilian_session"


async def get_db(request: Request) -> Session:
    """Return the request's session; the route commits or rolls it back. Async (on the event loop):
    creating a session does no I/O, so it costs no worker-thread hop."""
    existing = getattr(request.state, "db_session", None)
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    session = session_factory()()
    request.state.db_session = session
    request.state.db_owned = True
    return session


def _settled(request: Request) -> bool:
    """Close the request's session without a worker-thread hop when it holds no transaction (the
    endpoint committed in its own step, or never used the database): closing it then does no I/O.
    Return False when a transaction is still open and ``_finish`` must run in a thread."""
    session: Session | None = getattr(request.state, "db_session", None)
    if session is None:
        return True
    if session.in_transaction():
        return False
    if getattr(request.state, "db_owned", False):
        session.close()
    request.state.db_session = None
    return True


def _finish(request: Request, ok: bool) -> None:
    session: Session | None = getattr(request.state, "db_session", None)
    if session is None:
        return
    try:
        if ok:
            session.commit()
        else:
            session.rollback()
    finally:
        if getattr(request.state, "db_owned", False):
            session.close()
        request.state.db_session = None


def _commit_in_step(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a sync endpoint so its session commits (or rolls back) in the same worker-thread step.

    FastAPI runs dependencies, the endpoint and our finishing step as separate threadpool hops; a
    connection kept across hops sits "idle in transaction" while the request waits for a free
    thread, and under a rush every thread can end up waiting for a lock held by a waiting request.
    Committing inside the endpoint's own step releases the connection before the thread is given up.
    """
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        sessions = [v for v in (*args, *kwargs.values()) if isinstance(v, Session)]
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            for session in sessions:
                session.rollback()
            raise
        for session in sessions:
            session.commit()
        return result

    return run


class TransactionalRoute(APIRoute):
    """A route whose database session is committed before the response leaves (for sync endpoints in
    the endpoint's own worker-thread step)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _commit_in_step(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except BaseException:
                if not _settled(request):
                    await run_in_threadpool(_finish, request, False)
                raise
            if not _settled(request):
                await run_in_threadpool(_finish, request, True)
            return response

        return run


class AreaRouter(APIRouter):
    """An area's router: its routes are ``TransactionalRoute``s, and a request whose path is not under
    the router's prefix is turned away before its routes are tried.

    FastAPI (0.137 and later) keeps each included router as a node and, for every request, tries the
    routes of each router in turn, twice, without looking at the router's prefix: a request for a
    route of the eighth area's router was matched against the hundred routes before it (0.1–0.5 ms of
    CPU per request). Every route of this router sits under its prefix, so no route of it can match a
    path that does not start with the prefix."""

    def __init__(self, *, prefix: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("route_class", TransactionalRoute)
        super().__init__(prefix=prefix, **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.prefix and not _route_path(scope).startswith(self.prefix):
            return Match.NONE, {}
        return super().matches(scope)


def _route_path(scope: Scope) -> str:
    """The request's path as routes see it (without the ASGI ``root_path`` it is mounted under)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


SessionDep = Annotated[Session, Depends(get_db)]


def client_ip(request: Request) -> str | None:
    """Return the client's address."""
    return request.client.host if request.client else None


def bearer_or_cookie(request: Request) -> str | None:
    """Return the session token from ``Authorization: Bearer`` or the session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE_NAME)


def get_actor(request: Request, session: SessionDep) -> Actor:
    """Return the logged-in actor or raise Unauthorized."""
    token = bearer_or_cookie(request)
    if not token:
        raise Unauthorized("请先登录")
    actor = resolve_token(session, token, ip=client_ip(request))
    if session.in_transaction():  # it read the token: give the connection back before the endpoint's step
        session.commit()
    return actor


async def current_actor(request: Request, session: SessionDep) -> Actor:
    """The ``CurrentActor`` dependency: a token verified in this process a moment ago is answered on
    the event loop (no database read, no worker-thread hop); otherwise ``get_actor`` in a thread."""
    token = bearer_or_cookie(request)
    if not token:
        raise Unauthorized("请先登录")
    actor = cached_actor(token, ip=client_ip(request))
    if actor is not None and not session.in_transaction():
        return actor
    # a read, or a session that already holds work (a test's shared session): get_actor commits it
    return await run_in_threadpool(get_actor, request, session)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require(*permissions: Permission) -> Any:
    """Return a dependency giving the actor when it holds every one of ``permissions``."""

    async def check(actor: CurrentActor) -> Actor:
        missing = [p for p in permissions if not actor.has(p)]
        if missing:
            raise Forbidden(f"当前角色（{actor.role.label}）没有此操作权限: {', '.join(missing)}")
        return actor

    return Depends(check)
