"""The alliance administrator's page (/alliance/admin 医联体管理): alliances (城市医联体, 县域医共体,
专科联盟) with their lead and members, pairings (结对帮扶) with period and goals, and expert postings
(专家派驻) — list, create and edit through the alliance service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui
from pydantic import ValidationError
from sqlalchemy.orm import Session

from yilian.alliance import service
from yilian.alliance.domain import PERIOD_LABELS, WEEKDAY_LABELS, AllianceKind
from yilian.alliance.schemas import (
    MemberAdd,
    NetworkCreate,
    NetworkUpdate,
    PairingCreate,
    PairingUpdate,
    PostingCreate,
)
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.registry import service as registry
from yilian.registry.domain import InstitutionCategory
from yilian.web import nav
from yilian.web.shell import frame, guard, show_error

nav.register(
    nav.NavItem(
        "医联体管理",
        "/alliance/admin",
        "hub",
        "医联体",
        Permission.ALLIANCE_MANAGE,
        order=65,
        description="医联体、牵头医院与成员机构，结对帮扶（一院一策）的期间与目标，专家派驻坐诊",
    )
)

KIND_OPTIONS = {k.value: k.label for k in AllianceKind}
CLINIC_TYPES = {"ordinary": "普通号", "expert": "专家号", "special": "特需号"}
# what a person is told when a field of a form does not pass the schema (pydantic's own text is English)
FIELD_ERRORS = {
    "name": "医联体名称须为 2–100 个字",
    "kind": "请选择医联体类型",
    "lead_institution_id": "请选择牵头医院",
    "institution_id": "请选择机构",
    "senior_institution_id": "请选择帮扶医院",
    "member_institution_id": "请选择受援/坐诊机构",
    "member_department_id": "请选择坐诊科室",
    "practitioner_id": "请选择派驻专家",
    "goals": "帮扶目标最多 2000 个字",
    "weekdays": "请至少选择一个坐诊日",
    "start": "请填写开始日期",
    "end": "请填写结束日期",
    "joined_on": "加入日期不合法",
}


def _invalid(exc: ValidationError) -> str:
    fields = [str(e["loc"][0]) for e in exc.errors() if e.get("loc")]
    return "；".join(dict.fromkeys(FIELD_ERRORS.get(f, "填写内容不合法") for f in fields)) or "填写内容不合法"


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def _save(fn: Callable[[Session], Any], done: str, after: Callable[[], None]) -> bool:
    """Run one change in a unit of work; tell the user in Chinese what went wrong or that it is done."""
    try:
        with unit_of_work() as session:
            fn(session)
    except ValidationError as exc:
        ui.notify(_invalid(exc), type="warning")
        return False
    except YilianError as exc:
        show_error(exc)
        return False
    ui.notify(done, type="positive")
    after()
    return True


def _name(inst: Any) -> str:
    return str(inst.short_name or inst.name)


@ui.page("/alliance/admin")
def admin_page(request: Request) -> RedirectResponse | None:
    actor = guard(request, Permission.ALLIANCE_MANAGE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not actor.has(Permission.ALLIANCE_MANAGE):
        return None
    with frame(actor, "医联体管理"):
        _Admin(actor)
    return None


class _Admin:
    """The alliance selector and the selected alliance's members, pairings and postings."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.network_id: int | None = None
        with ui.row().classes("items-center gap-3 w-full"):
            self.picker = (
                ui.select({}, label="医联体", on_change=lambda e: self.pick(e.value))
                .props('data-testid="adm-network"')
                .classes("w-80")
            )
            ui.button("新建医联体", icon="add", on_click=self.new_network).props(
                'data-testid="adm-new-network"'
            )
            ui.button("编辑", icon="edit", on_click=self.edit_network).props(
                'data-testid="adm-edit-network" flat'
            )
        self.head = ui.row().classes("items-center gap-2").props('data-testid="adm-head"')
        with ui.tabs().classes("w-full") as tabs:
            ui.tab("members", label="成员机构").props('data-testid="adm-tab-members"')
            ui.tab("pairings", label="结对帮扶").props('data-testid="adm-tab-pairings"')
            ui.tab("postings", label="专家派驻").props('data-testid="adm-tab-postings"')
        with ui.tab_panels(tabs, value="members").classes("w-full"):
            with ui.tab_panel("members"):
                ui.button("加入成员", icon="add", on_click=self.new_member).props(
                    'data-testid="adm-new-member"'
                )
                self.members = ui.column().classes("w-full gap-1").props('data-testid="adm-members"')
            with ui.tab_panel("pairings"):
                ui.button("新建结对", icon="add", on_click=lambda: self.pairing(None)).props(
                    'data-testid="adm-new-pairing"'
                )
                self.pairings = ui.column().classes("w-full gap-2").props('data-testid="adm-pairings"')
            with ui.tab_panel("postings"):
                ui.button("派驻专家", icon="add", on_click=self.new_posting).props(
                    'data-testid="adm-new-posting"'
                )
                self.postings = ui.column().classes("w-full gap-2").props('data-testid="adm-postings"')
        self.load()

    # ------------------------------------------------------------ reading

    def load(self, select: int | None = None) -> None:
        try:
            with unit_of_work() as session:
                self.networks = {n.id: n for n in service.list_networks(session, self.actor)}
        except YilianError as exc:
            show_error(exc)
            return
        self.picker.set_options({i: n.name for i, n in self.networks.items()})
        wanted = select or self.network_id or next(iter(self.networks), None)
        self.picker.value = wanted  # on_change draws
        if wanted == self.network_id:
            self.draw()

    def pick(self, network_id: int | None) -> None:
        self.network_id = network_id
        self.draw()

    def draw(self) -> None:
        for box in (self.head, self.members, self.pairings, self.postings):
            box.clear()
        if self.network_id is None:
            with self.head:
                ui.label("暂无医联体，请新建").classes("text-grey-7")
            return
        try:
            with unit_of_work() as session:
                data = _network_data(session, self.actor, self.network_id)
        except YilianError as exc:
            show_error(exc)
            return
        n = data["network"]
        with self.head:
            ui.badge(AllianceKind(n.kind).label, color="teal").props('data-testid="adm-kind"')
            ui.label(f"牵头医院：{data['names'][n.lead_institution_id]}").props('data-testid="adm-lead"')
            counts = (len(data["members"]), len(data["pairings"]), len(data["postings"]))
            ui.label("成员 {} 家 · 结对 {} 对 · 派驻 {} 人次".format(*counts))
        self.draw_members(data)
        self.draw_pairings(data)
        self.draw_postings(data)

    def draw_members(self, data: dict[str, Any]) -> None:
        lead = data["network"].lead_institution_id
        with self.members:
            for m in data["members"]:
                inst = data["insts"][m.institution_id]
                with (
                    ui.row()
                    .classes("items-center gap-3")
                    .props(f'data-testid="adm-member-{m.institution_id}"')
                ):
                    ui.label(inst.name).classes("text-subtitle2")
                    ui.label(InstitutionCategory(inst.category).label).classes("text-caption text-grey-7")
                    ui.label(f"加入 {m.joined_on.isoformat()}").classes("text-caption")
                    if m.institution_id == lead:
                        ui.badge("牵头医院", color="primary")

    def draw_pairings(self, data: dict[str, Any]) -> None:
        names = data["names"]
        with self.pairings:
            if not data["pairings"]:
                ui.label("暂无结对帮扶").classes("text-grey-7")
            for p in data["pairings"]:
                with ui.card().classes("w-full").props(f'data-testid="adm-pairing-{p.id}"'):
                    with ui.row().classes("items-center gap-2"):
                        ui.label(
                            f"{names[p.senior_institution_id]} → {names[p.member_institution_id]}"
                        ).classes("text-subtitle2")
                        ui.label(f"{p.start.isoformat()} 至 {p.end.isoformat()}").classes("text-caption")
                        ui.button("编辑", on_click=lambda p=p: self.pairing(p)).props(
                            f'data-testid="adm-edit-pairing-{p.id}" dense flat'
                        )
                    ui.label(f"帮扶目标：{p.goals or '（未填写）'}").classes("text-caption")

    def draw_postings(self, data: dict[str, Any]) -> None:
        with self.postings:
            if not data["postings"]:
                ui.label("暂无专家派驻").classes("text-grey-7")
            for v in data["postings"]:
                p = v.posting
                arrived = sum(1 for s in v.sittings if s.arrived)
                with ui.card().classes("w-full").props(f'data-testid="adm-posting-{p.id}"'):
                    ui.label(f"{v.expert} → {v.member} · {v.department}").classes("text-subtitle2")
                    ui.label(
                        f"{p.start.isoformat()} 至 {p.end.isoformat()} · 每{v.weekdays_label} "
                        f"{PERIOD_LABELS.get(p.period, p.period)} · {CLINIC_TYPES.get(p.clinic_type, '')}"
                        f" · 坐诊日 {len(v.sittings)} 天，已到岗 {arrived} 天"
                    ).classes("text-caption")

    # ------------------------------------------------------------ forms

    def new_network(self) -> None:
        _network_dialog(self, None)

    def edit_network(self) -> None:
        if self.network_id is None:
            ui.notify("请先选择医联体", type="warning")
            return
        _network_dialog(self, self.networks[self.network_id])

    def new_member(self) -> None:
        if self.network_id is not None:
            _member_dialog(self, self.network_id)

    def pairing(self, row: Any) -> None:
        if self.network_id is not None:
            _pairing_dialog(self, self.network_id, row)

    def new_posting(self) -> None:
        if self.network_id is not None:
            _posting_dialog(self, self.network_id)


def _network_data(session: Session, actor: Actor, network_id: int) -> dict[str, Any]:
    network = service.get_network(session, network_id)
    members = list(service.members(session, network_id))
    pairings = list(service.pairings(session, network_id))
    postings = service.posting_views(session, actor, network_id)
    ids = {m.institution_id for m in members} | {network.lead_institution_id}
    ids |= {p.senior_institution_id for p in pairings} | {p.member_institution_id for p in pairings}
    insts = registry.institutions_by_ids(session, sorted(ids))
    return {
        "network": network,
        "members": members,
        "pairings": pairings,
        "postings": postings,
        "insts": insts,
        "names": {i: _name(x) for i, x in insts.items()},
    }


def _institution_options(session: Session, exclude: set[int] | None = None) -> dict[int, str]:
    rows, _ = registry.list_institutions(session, limit=1000)
    return {i.id: i.name for i in rows if i.id not in (exclude or set())}


def _member_options(session: Session, network_id: int) -> dict[int, str]:
    members = service.members(session, network_id)
    insts = registry.institutions_by_ids(session, [m.institution_id for m in members])
    return {m.institution_id: insts[m.institution_id].name for m in members}


def _network_dialog(page: _Admin, network: Any) -> None:
    """Create an alliance (its lead becomes its first member) or edit its name, kind and lead."""
    with unit_of_work() as session:
        options = (
            _member_options(session, network.id) if network is not None else _institution_options(session)
        )
    with ui.dialog() as dialog, ui.card().classes("w-[32rem] max-w-full"):
        ui.label("编辑医联体" if network else "新建医联体").classes("text-h6")
        name = ui.input("名称", value=network.name if network else "").props('data-testid="net-name"')
        kind = ui.select(KIND_OPTIONS, label="类型", value=network.kind if network else "city").props(
            'data-testid="net-kind"'
        )
        lead = ui.select(
            options, label="牵头医院", value=network.lead_institution_id if network else None, with_input=True
        ).props('data-testid="net-lead"')
        for w in (name, kind, lead):
            w.classes("w-full")

        def submit() -> None:
            def run(s: Session) -> Any:
                fields = {
                    "name": (name.value or "").strip(),
                    "kind": kind.value,
                    "lead_institution_id": lead.value,
                }
                if network is None:
                    created = service.create_network(s, page.actor, NetworkCreate(**fields))
                    page.network_id = created.id
                    return created
                return service.update_network(s, page.actor, network.id, NetworkUpdate(**fields))

            if _save(run, "医联体已保存", page.load):
                dialog.close()

        with ui.row():
            ui.button("保存", on_click=submit).props('data-testid="net-save"')
            ui.button("取消", on_click=dialog.close).props("flat")
    dialog.open()


def _member_dialog(page: _Admin, network_id: int) -> None:
    with unit_of_work() as session:
        options = _institution_options(session, set(_member_options(session, network_id)))
    with ui.dialog() as dialog, ui.card().classes("w-[32rem] max-w-full"):
        ui.label("加入成员机构").classes("text-h6")
        inst = (
            ui.select(options, label="机构", with_input=True)
            .props('data-testid="mem-inst"')
            .classes("w-full")
        )
        joined = ui.input("加入日期", value=business_date().isoformat()).props('data-testid="mem-day"')

        def submit() -> None:
            day = _day(joined.value)
            if day is None:
                ui.notify("加入日期格式应为 2026-06-01", type="warning")
                return
            fields = {"institution_id": inst.value, "joined_on": day}
            if _save(
                lambda s: service.add_member(s, page.actor, network_id, MemberAdd(**fields)),
                "已加入",
                page.draw,
            ):
                dialog.close()

        with ui.row():
            ui.button("加入", on_click=submit).props('data-testid="mem-save"')
            ui.button("取消", on_click=dialog.close).props("flat")
    dialog.open()


def _pairing_dialog(page: _Admin, network_id: int, row: Any) -> None:
    """A new pairing of two members, or a pairing's period and goals."""
    with unit_of_work() as session:
        options = _member_options(session, network_id)
    today = business_date()
    with ui.dialog() as dialog, ui.card().classes("w-[36rem] max-w-full"):
        ui.label("编辑结对帮扶" if row else "新建结对帮扶").classes("text-h6")
        senior = ui.select(options, label="帮扶医院", value=row.senior_institution_id if row else None)
        member = ui.select(options, label="受援机构", value=row.member_institution_id if row else None)
        senior.props('data-testid="pair-senior"').classes("w-full")
        member.props('data-testid="pair-member"').classes("w-full")
        if row:
            senior.disable()
            member.disable()
        with ui.row().classes("w-full"):
            start = ui.input("开始日期", value=(row.start if row else today).isoformat()).props(
                'data-testid="pair-start"'
            )
            end = ui.input(
                "结束日期", value=(row.end if row else today + timedelta(days=364)).isoformat()
            ).props('data-testid="pair-end"')
        goals = (
            ui.textarea("帮扶目标（一院一策）", value=row.goals if row else "")
            .props('data-testid="pair-goals" autogrow')
            .classes("w-full")
        )

        def submit() -> None:
            first, last = _day(start.value), _day(end.value)
            if first is None or last is None:
                ui.notify("日期格式应为 2026-06-01", type="warning")
                return
            if row is not None:
                data: Any = {"start": first, "end": last, "goals": goals.value or ""}
                fn: Callable[[Session], Any] = lambda s: service.update_pairing(  # noqa: E731
                    s, page.actor, row.id, PairingUpdate(**data)
                )
            else:
                data = {
                    "senior_institution_id": senior.value,
                    "member_institution_id": member.value,
                    "start": first,
                    "end": last,
                    "goals": goals.value or "",
                }
                fn = lambda s: service.create_pairing(s, page.actor, network_id, PairingCreate(**data))  # noqa: E731
            if _save(fn, "结对帮扶已保存", page.draw):
                dialog.close()

        with ui.row():
            ui.button("保存", on_click=submit).props('data-testid="pair-save"')
            ui.button("取消", on_click=dialog.close).props("flat")
    dialog.open()


def _posting_dialog(page: _Admin, network_id: int) -> None:
    """Post an expert of the lead hospital to a member's department on some weekdays."""
    with unit_of_work() as session:
        network = service.get_network(session, network_id)
        experts, _ = registry.list_practitioners(
            session, institution_id=network.lead_institution_id, limit=500
        )
        expert_options = {
            p.id: f"{p.name}（{p.title}）" if getattr(p, "title", "") else p.name for p in experts
        }
        members = {
            i: n for i, n in _member_options(session, network_id).items() if i != network.lead_institution_id
        }
    today = business_date()
    with ui.dialog() as dialog, ui.card().classes("w-[36rem] max-w-full"):
        ui.label("派驻专家坐诊").classes("text-h6")
        expert = ui.select(expert_options, label="派驻专家（牵头医院）", with_input=True).props(
            'data-testid="post-expert"'
        )
        dept = ui.select({}, label="坐诊科室").props('data-testid="post-dept"')

        def departments(e: Any) -> None:
            with unit_of_work() as s:
                dept.set_options(dict(service.clinical_departments(s, int(e.value))) if e.value else {})
            dept.value = None

        member = ui.select(members, label="坐诊机构", on_change=departments).props(
            'data-testid="post-member"'
        )
        member.move(target_index=2)
        for w in (expert, member, dept):
            w.classes("w-full")
        with ui.row().classes("w-full"):
            start = ui.input("开始日期", value=(today + timedelta(days=1)).isoformat()).props(
                'data-testid="post-start"'
            )
            end = ui.input("结束日期", value=(today + timedelta(days=90)).isoformat()).props(
                'data-testid="post-end"'
            )
        weekdays = (
            ui.select(dict(enumerate(WEEKDAY_LABELS)), label="坐诊日", multiple=True, value=[])
            .props('data-testid="post-weekdays" use-chips')
            .classes("w-full")
        )
        with ui.row().classes("w-full"):
            period = ui.select(PERIOD_LABELS, label="时段", value="am").props('data-testid="post-period"')
            clinic = ui.select(CLINIC_TYPES, label="号别", value="expert").props('data-testid="post-clinic"')

        def submit() -> None:
            first, last = _day(start.value), _day(end.value)
            if first is None or last is None:
                ui.notify("日期格式应为 2026-06-01", type="warning")
                return
            fields = {
                "practitioner_id": expert.value,
                "member_institution_id": member.value,
                "member_department_id": dept.value,
                "start": first,
                "end": last,
                "weekdays": list(weekdays.value or []),
                "period": period.value,
                "clinic_type": clinic.value,
            }
            fn = lambda s: service.create_posting(s, page.actor, network_id, PostingCreate(**fields))  # noqa: E731
            if _save(fn, "专家派驻已保存，坐诊排班已生成", page.draw):
                dialog.close()

        with ui.row():
            ui.button("派驻", on_click=submit).props('data-testid="post-save"')
            ui.button("取消", on_click=dialog.close).props("flat")
    dialog.open()
