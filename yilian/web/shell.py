"""Login page, the page frame (header, role-aware menu) and mounting NiceGUI on the FastAPI app."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.kit.audit import audit_row_dict, list_access
from yilian.kit.auth import service as auth
from yilian.kit.auth.deps import COOKIE_NAME, client_ip
from yilian.kit.auth.domain import ROLE_LABELS, Actor, Permission, Role
from yilian.kit.db import unit_of_work
from yilian.kit.errors import TooManyRequests, Unauthorized, YilianError
from yilian.kit.settings import get_settings
from yilian.web import nav

APP_NAME = "医联 · 区域智慧医疗平台"

nav.register(nav.NavItem(label="首页", path="/", icon="home", order=0))
nav.register(
    nav.NavItem(
        label="访问审计",
        path="/audit",
        icon="policy",
        group="系统管理",
        permission=Permission.AUDIT_READ,
        order=900,
        description="谁在何时查看了哪位患者的数据",
    )
)
nav.register(
    nav.NavItem(
        label="用户管理",
        path="/admin/users",
        icon="manage_accounts",
        group="系统管理",
        permission=Permission.USER_MANAGE,
        order=910,
        description="账号、角色与所属机构",
    )
)


def actor_from_request(request: Request) -> Actor | None:
    """Return the actor of the request's session cookie, or None when not logged in."""
    token = request.cookies.get(COOKIE_NAME)
    if not token:
        return None
    try:
        with unit_of_work() as session:
            return auth.resolve_token(session, token, ip=client_ip(request), channel="web")
    except Unauthorized:
        return None


def login_redirect(request: Request) -> RedirectResponse:
    """Send the browser to the login page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def guard(request: Request, permission: Permission | None = None) -> Actor | RedirectResponse:
    """Return the logged-in actor, or a redirect to the login page; shows a refusal when not permitted."""
    actor = actor_from_request(request)
    if actor is None:
        return login_redirect(request)
    if permission is not None and not actor.has(permission):
        with frame(actor, "没有权限"):
            ui.label(f"当前角色（{actor.role.label}）不能使用此页面。").classes("text-negative")
        return actor
    return actor


def allowed(actor: Actor, permission: Permission | None) -> bool:
    """Tell whether the page body may be drawn for ``actor``."""
    return permission is None or actor.has(permission)


@contextmanager
def frame(actor: Actor, title: str) -> Iterator[ui.column]:
    """Draw the header and the menu, and yield the content column of a page."""
    ui.page_title(f"{title} - 医联")
    ui.add_head_html(
        "<style>body{font-family:'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif;}</style>"
    )
    ui.colors(primary="#0f6e8c", secondary="#2a9d8f", accent="#e76f51")
    drawer = ui.left_drawer(value=None).classes("bg-grey-1").props("width=220 bordered")
    with drawer:
        group = None
        for item in nav.items_for(actor):
            if item.group != group:
                group = item.group
                ui.label(group).classes("text-xs text-grey-7 q-mt-md q-mb-xs")
            with ui.link(target=item.path).classes("no-underline text-grey-9 w-full"):
                with ui.row().classes("items-center gap-2 q-py-xs q-px-sm rounded hover:bg-grey-3 w-full"):
                    ui.icon(item.icon).classes("text-primary")
                    ui.label(item.label)
    with ui.header().classes("items-center justify-between bg-primary text-white q-px-md"):
        with ui.row().classes("items-center gap-2"):
            ui.button(icon="menu", on_click=drawer.toggle).props("flat round dense color=white")
            ui.label(APP_NAME).classes("text-lg font-medium")
        with ui.row().classes("items-center gap-3"):
            ui.label(f"{actor.display_name}（{actor.role.label}）").classes("text-sm").props(
                'data-testid="current-user"'
            )
            ui.link("退出", "/auth/logout").classes("text-white text-sm")
    with ui.column().classes("w-full q-pa-md gap-4") as content:
        ui.label(title).classes("text-h5 text-grey-9")
        yield content


def show_error(exc: YilianError) -> None:
    """Tell the user what went wrong, in the error's own words."""
    ui.notify(f"{exc.title}：{exc.detail}" if exc.detail != exc.title else exc.title, type="negative")


@ui.page("/login")
def login_page(request: Request, next: str = "/") -> None:
    """Log in with user name and password."""
    ip = client_ip(request)
    ui.page_title("登录 - 医联")
    ui.colors(primary="#0f6e8c")
    ui.add_head_html(
        "<style>body{font-family:'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif;"
        "background:linear-gradient(135deg,#e0f2f1,#e3f2fd);}</style>"
    )

    def submit() -> None:
        message.set_text("")
        try:
            with unit_of_work() as session:
                result = auth.login(session, username.value or "", password.value or "", ip=ip)
                ticket = auth.open_ticket(session, result.user, ip=ip) if result.user else None
        except TooManyRequests as exc:
            message.set_text(exc.detail)
            return
        if ticket is None:
            message.set_text("用户名或密码错误")
            return
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        ui.navigate.to(f"/auth/complete?ticket={ticket}&next={quote(target)}")

    with ui.column().classes("absolute-center items-center gap-4"):
        ui.label("医联").classes("text-h3 text-primary font-bold")
        ui.label("区域智慧医疗平台 · 医联体协同服务").classes("text-grey-8")
        with ui.card().classes("w-80 q-pa-lg gap-3"):
            username = ui.input("用户名").props('outlined dense data-testid="username"').classes("w-full")
            password = (
                ui.input("密码", password=True, password_toggle_button=True)
                .props('outlined dense data-testid="password"')
                .classes("w-full")
            )
            password.on("keydown.enter", submit)
            ui.button("登录", on_click=submit).props('data-testid="login"').classes("w-full")
            message = ui.label("").classes("text-negative text-sm").props('data-testid="login-error"')
        ui.label("演示账号见 README 或 make run 的输出").classes("text-xs text-grey-7")


@ui.page("/")
def home_page(request: Request) -> RedirectResponse | None:
    """The start page: what this role can do here."""
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "工作台"):
        ui.label(f"您好，{actor.display_name}。以下是{actor.role.label}可用的功能：").classes("text-grey-8")
        with ui.row().classes("gap-4 flex-wrap"):
            for item in nav.items_for(actor):
                if item.path == "/":
                    continue
                with ui.link(target=item.path).classes("no-underline"):
                    with ui.card().classes("w-64 cursor-pointer hover:shadow-lg"):
                        with ui.row().classes("items-center gap-2"):
                            ui.icon(item.icon).classes("text-primary text-2xl")
                            ui.label(item.label).classes("text-lg text-grey-9")
                        ui.label(item.description).classes("text-sm text-grey-7")
    return None


@ui.page("/audit")
def audit_page(request: Request, patient_id: int | None = None) -> RedirectResponse | None:
    """The access-audit log, newest first."""
    actor = guard(request, Permission.AUDIT_READ)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.AUDIT_READ):
        return None
    state = {"offset": 0}
    columns = [
        {"name": "at", "label": "时间", "field": "at", "align": "left"},
        {"name": "username", "label": "用户", "field": "username", "align": "left"},
        {"name": "role", "label": "角色", "field": "role", "align": "left"},
        {"name": "action", "label": "操作", "field": "action_label", "align": "left"},
        {"name": "patient_id", "label": "患者ID", "field": "patient_id", "align": "left"},
        {"name": "resource", "label": "对象", "field": "resource", "align": "left"},
        {"name": "reason", "label": "事由", "field": "reason", "align": "left"},
        {"name": "channel", "label": "渠道", "field": "channel", "align": "left"},
    ]
    with frame(actor, "访问审计"):
        with ui.row().classes("items-center gap-2"):
            pid = ui.number("患者ID", value=patient_id).props("dense outlined clearable").classes("w-40")
            ui.button("查询", on_click=lambda: load(0))
        table = (
            ui.table(columns=columns, rows=[], row_key="id")
            .classes("w-full")
            .props('dense flat bordered data-testid="audit-table"')
        )
        with ui.row().classes("items-center gap-2"):
            prev_btn = ui.button("上一页", on_click=lambda: load(max(0, state["offset"] - 50))).props("flat")
            info = ui.label("")
            next_btn = ui.button("下一页", on_click=lambda: load(state["offset"] + 50)).props("flat")

    def load(offset: int) -> None:
        with unit_of_work() as session:
            rows, total = list_access(
                session, patient_id=int(pid.value) if pid.value else None, offset=offset, limit=50
            )
            table.rows = [
                {
                    **audit_row_dict(r),
                    "role": ROLE_LABELS.get(Role(r.role), r.role),
                    "at": r.at.strftime("%Y-%m-%d %H:%M:%S"),
                }
                for r in rows
            ]
        state["offset"] = offset
        info.set_text(f"共 {total} 条，第 {offset + 1}–{min(offset + 50, total)} 条" if total else "暂无记录")
        prev_btn.set_enabled(offset > 0)
        next_btn.set_enabled(offset + 50 < total)

    load(0)
    return None


@ui.page("/admin/users")
def users_page(request: Request) -> RedirectResponse | None:
    """Accounts: list and create."""
    actor = guard(request, Permission.USER_MANAGE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.USER_MANAGE):
        return None
    columns = [
        {"name": "username", "label": "用户名", "field": "username", "align": "left"},
        {"name": "display_name", "label": "姓名", "field": "display_name", "align": "left"},
        {"name": "role", "label": "角色", "field": "role", "align": "left"},
        {"name": "institution_id", "label": "机构ID", "field": "institution_id", "align": "left"},
        {"name": "last_login_at", "label": "最近登录", "field": "last_login_at", "align": "left"},
    ]
    with frame(actor, "用户管理"):
        table = (
            ui.table(columns=columns, rows=[], row_key="id").classes("w-full").props("dense flat bordered")
        )
        with ui.expansion("新建用户", icon="person_add").classes("w-full"):
            with ui.row().classes("gap-2 items-end"):
                username = ui.input("用户名").props("dense outlined")
                display = ui.input("姓名").props("dense outlined")
                role = (
                    ui.select({r.value: r.label for r in Role}, label="角色", value=Role.DOCTOR.value)
                    .props("dense outlined")
                    .classes("w-40")
                )
                inst = ui.number("机构ID").props("dense outlined").classes("w-28")
                pwd = ui.input("初始密码", password=True).props("dense outlined")
                ui.button("创建", on_click=lambda: create())

    def load() -> None:
        with unit_of_work() as session:
            rows, _ = auth.list_users(session, limit=200)
            table.rows = [
                {
                    "id": u.id,
                    "username": u.username,
                    "display_name": u.display_name,
                    "role": Role(u.role).label,
                    "institution_id": u.institution_id,
                    "last_login_at": u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "",
                }
                for u in rows
            ]

    def create() -> None:
        try:
            with unit_of_work() as session:
                auth.create_user(
                    session,
                    username=username.value or "",
                    password=pwd.value or "",
                    role=role.value,
                    display_name=display.value or "",
                    institution_id=int(inst.value) if inst.value else None,
                )
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("用户已创建", type="positive")
        load()

    load()
    return None


def mount(app: FastAPI, page_modules: Sequence[ModuleType]) -> None:
    """Mount NiceGUI (and every area's pages, already imported) on ``app``."""
    del page_modules  # importing them registered their pages and menu entries
    ui.run_with(
        app,
        title="医联",
        language="zh-CN",
        storage_secret=get_settings().resolved_secret(),
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )
