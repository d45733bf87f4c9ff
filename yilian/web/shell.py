"""Login page, the page frame (header, role-aware menu) and mounting NiceGUI on the FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session

from yilian.kit.access_log import audit_row_dict, list_access
from yilian.kit.auth import service as auth
from yilian.kit.auth.deps import COOKIE_NAME, client_ip
from yilian.kit.auth.domain import ROLE_LABELS, Actor, Permission, Role
from yilian.kit.db import unit_of_work
from yilian.kit.errors import TooManyRequests, Unauthorized, YilianError
from yilian.kit.settings import get_settings
from yilian.web import nav

log = logging.getLogger("yilian.web")

APP_NAME = "医联 · 区域智慧医疗平台"
WRAP = "white-space: normal; word-break: break-all; min-width: 8rem"  # a long text column wraps in its cell
# On a phone, fixed widths (w-96, w-80 …) shrink to the screen instead of pushing the page sideways
NARROW_CSS = """
@media (max-width: 599px) {
  .q-page-container .nicegui-content *:not(table):not(thead):not(tbody):not(tr):not(th):not(td) {
    max-width: 100%;
  }
  .q-page-container .nicegui-content [class*="min-w-"] { min-width: 0 !important; }
  .q-page-container .nicegui-row { flex-wrap: wrap; }
}
"""

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
    ui.add_css(NARROW_CSS)
    if actor.role is Role.KIOSK:  # a public machine in the hall: no staff menu, no log-out
        with ui.header().classes("items-center bg-primary text-white q-px-md"):
            ui.label(APP_NAME).classes("text-lg font-medium")
            ui.space()
            ui.label(actor.display_name).classes("text-sm").props('data-testid="current-user"')
    else:
        drawer = ui.left_drawer(value=None).classes("bg-grey-1").props("width=220 bordered")
        with drawer:
            group = None
            for item in nav.items_for(actor):
                if item.group != group:
                    group = item.group
                    ui.label(group).classes("text-xs text-grey-7 q-mt-md q-mb-xs")
                with ui.link(target=item.path).classes("no-underline text-grey-9 w-full"):
                    with ui.row().classes(
                        "items-center gap-2 q-py-xs q-px-sm rounded hover:bg-grey-3 w-full"
                    ):
                        ui.icon(item.icon).classes("text-primary")
                        ui.label(item.label)
        with ui.header().classes("items-center justify-between bg-primary text-white q-px-md"):
            with ui.row().classes("items-center gap-2"):
                ui.button(icon="menu", on_click=drawer.toggle).props("flat round dense color=white")
                ui.label(APP_NAME).classes("text-lg font-medium gt-xs")
                ui.label("医联").classes("text-lg font-medium xs")
            with ui.row().classes("items-center gap-3"):
                ui.label(f"{actor.display_name}（{actor.role.label}）").classes("text-sm").props(
                    'data-testid="current-user"'
                )
                ui.link("退出", "/auth/logout").classes("text-white text-sm")
    with ui.column().classes("w-full q-pa-md gap-4") as content:
        ui.label(title).classes("text-h5 text-grey-9")
        yield content


def cards_on_phone(table: ui.table) -> ui.table:
    """Draw ``table`` as one card a row on a phone-sized screen (Quasar's grid mode), as a table elsewhere."""
    return table.props(':grid="window.innerWidth < 600"')


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
    if actor.role is Role.KIOSK:
        return RedirectResponse("/scheduling/kiosk", status_code=303)
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
        {"name": "resource", "label": "对象", "field": "resource_label", "align": "left", "style": WRAP},
        {"name": "reason", "label": "事由", "field": "reason", "align": "left", "style": WRAP},
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


InstitutionNames = Callable[[Session], dict[int, str]]
_institution_names: list[InstitutionNames] = []


def provide_institution_names(source: InstitutionNames) -> None:
    """Let the registry (an area above the shell) name institutions on the shell's own pages."""
    _institution_names[:] = [source]


def institution_names(session: Session) -> dict[int, str]:
    """Institution id → name, from the registry when it is installed."""
    return _institution_names[0](session) if _institution_names else {}


@ui.page("/admin/users")
def users_page(request: Request) -> RedirectResponse | None:
    """Accounts: list, create, edit, disable / enable, reset a password."""
    actor = guard(request, Permission.USER_MANAGE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.USER_MANAGE):
        return None
    with unit_of_work() as session:
        names = institution_names(session)
    inst_options: dict[int, str] = dict(sorted(names.items(), key=lambda kv: kv[1]))
    columns = [
        {"name": "username", "label": "用户名", "field": "username", "align": "left"},
        {"name": "display_name", "label": "姓名", "field": "display_name", "align": "left"},
        {"name": "role", "label": "角色", "field": "role", "align": "left"},
        {"name": "institution", "label": "所属机构", "field": "institution", "align": "left"},
        {"name": "state", "label": "状态", "field": "state", "align": "left"},
        {"name": "last_login_at", "label": "最近登录", "field": "last_login_at", "align": "left"},
    ]
    with frame(actor, "用户管理"):
        ui.label("点击一行可修改姓名、角色、所属机构，停用 / 启用账号或重置密码。").classes(
            "text-grey-7 text-sm"
        )
        table = (
            ui.table(columns=columns, rows=[], row_key="id", pagination=50)
            .classes("w-full")
            .props('dense flat bordered data-testid="users-table"')
        )
        table.on("rowClick", lambda e: edit(int(e.args[1]["id"])))
        with ui.expansion("新建用户", icon="person_add").classes("w-full"):
            with ui.row().classes("gap-2 items-end"):
                username = ui.input("用户名").props("dense outlined")
                display = ui.input("姓名").props("dense outlined")
                role = (
                    ui.select({r.value: r.label for r in Role}, label="角色", value=Role.DOCTOR.value)
                    .props("dense outlined")
                    .classes("w-40")
                )
                inst = (
                    ui.select(inst_options, label="所属机构", with_input=True)
                    .props("dense outlined")
                    .classes("w-64")
                )
                pwd = ui.input("初始密码", password=True).props("dense outlined")
                ui.button("创建", on_click=lambda: create())

    def load() -> None:
        with unit_of_work() as session:
            rows, _ = auth.list_users(session, limit=500)
            table.rows = [
                {
                    "id": u.id,
                    "username": u.username,
                    "display_name": u.display_name,
                    "role": Role(u.role).label,
                    "institution": names.get(u.institution_id, "")
                    if u.institution_id
                    else ("全医联体" if u.role == Role.ADMIN.value else "—"),
                    "state": "正常" if u.is_active else "已停用",
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

    def edit(user_id: int) -> None:
        with unit_of_work() as session:
            u = auth.get_user(session, user_id)
            current = (u.username, u.display_name, u.role, u.institution_id, u.is_active)
        with (
            ui.dialog() as dialog,
            ui.card().classes("w-[32rem] max-w-full").props('data-testid="user-edit"'),
        ):
            ui.label(f"修改用户 {current[0]}").classes("text-h6")
            e_display = ui.input("姓名", value=current[1]).props("dense outlined").classes("w-full")
            e_role = (
                ui.select({r.value: r.label for r in Role}, label="角色", value=current[2])
                .props("dense outlined")
                .classes("w-full")
            )
            e_inst = (
                ui.select(inst_options, label="所属机构", value=current[3], with_input=True, clearable=True)
                .props("dense outlined")
                .classes("w-full")
            )
            e_active = ui.switch("账号启用", value=current[4]).props('data-testid="user-active"')
            e_pwd = (
                ui.input("重置密码（留空不改）", password=True)
                .props('dense outlined data-testid="user-new-password"')
                .classes("w-full")
            )

            def save() -> None:
                try:
                    with unit_of_work() as session:
                        auth.update_user(
                            session,
                            actor,
                            user_id,
                            display_name=e_display.value or None,
                            role=e_role.value,
                            institution_id=int(e_inst.value) if e_inst.value else None,
                            is_active=bool(e_active.value),
                            new_password=e_pwd.value or None,
                        )
                except YilianError as exc:
                    show_error(exc)
                    return
                ui.notify("已保存", type="positive")
                dialog.close()
                load()

            with ui.row().classes("justify-end w-full"):
                ui.button("取消", on_click=dialog.close).props("flat")
                ui.button("保存", on_click=save).props('data-testid="user-save"')
        dialog.open()

    load()
    return None


_ERROR_TEXTS = {
    404: ("页面不存在", "您访问的页面不存在或已被移除，请从首页重新进入。"),
    500: ("系统内部错误", "系统遇到问题，已记录，请稍后重试或联系信息科。"),
}


def error_content(status: int) -> None:
    """Draw a Chinese error page for ``status``; it never shows the exception's text."""
    title, text = _ERROR_TEXTS.get(status, _ERROR_TEXTS[500] if status >= 500 else _ERROR_TEXTS[404])
    ui.page_title(f"{title} - 医联")
    with ui.column().classes("w-full items-center q-pa-xl gap-3").props('data-testid="error-page"'):
        ui.icon("sentiment_dissatisfied").classes("text-grey-6").style("font-size:6rem")
        ui.label(str(status)).classes("text-h2 text-grey-8")
        ui.label(title).classes("text-h5 text-grey-9")
        ui.label(text).classes("text-grey-7")
        ui.link("返回首页", "/").classes("text-primary")


def _install_error_pages() -> None:
    """Replace NiceGUI's English error pages (which print the exception) with Chinese ones."""
    from fastapi.responses import Response
    from nicegui import app as ui_app
    from nicegui.client import Client
    from nicegui.page import page as nicegui_page

    from yilian.kit.errors import PROBLEM_BASE
    from yilian.kit.problems import problem_response

    @ui_app.exception_handler(404)
    async def _not_found(request: Request, exc: Exception) -> Response:
        endpoint = request.scope.get("endpoint")
        api_endpoint = (
            endpoint is not None and endpoint is not ui_app and not request.scope.get("nicegui_page_path")
        )
        if api_endpoint or request.url.path.startswith(("/api/", "/fhir/")):  # programs get problem+json
            detail = str(getattr(exc, "detail", "") or "")
            detail = "页面或记录不存在" if detail in ("", "Not Found") else detail
            return problem_response(
                {
                    "type": PROBLEM_BASE + "not_found",
                    "title": "页面或记录不存在",
                    "status": 404,
                    "code": "not_found",
                    "detail": detail,
                    "instance": request.url.path,
                }
            )
        with Client(nicegui_page(""), request=request) as client:
            error_content(404)
        return client.build_response(request, 404)

    def page_exception(exc: Exception) -> None:
        del exc  # NiceGUI logs it; a person never sees it
        error_content(500)

    ui_app.on_page_exception(page_exception)
    # NiceGUI's remaining error paths (an error outside a page function, a client gone) draw through these
    # module-level names; point them at the Chinese page too
    import nicegui.nicegui
    import nicegui.page

    def chinese(status_code: int, exception: str | Exception = "") -> None:
        del exception
        error_content(status_code)

    nicegui.nicegui.error_content = chinese  # type: ignore[attr-defined]
    nicegui.page.error_content = chinese  # type: ignore[attr-defined]


def mount(app: FastAPI, page_modules: Sequence[ModuleType]) -> None:
    """Mount NiceGUI (and every area's pages, already imported) on ``app``."""
    del page_modules  # importing them registered their pages and menu entries
    _install_error_pages()
    ui.run_with(
        app,
        title="医联",
        language="zh-CN",
        storage_secret=get_settings().resolved_secret(),
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )
