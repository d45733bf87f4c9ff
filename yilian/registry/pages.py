"""Pages of the registry: patient search and record, institution and department browser."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session

from yilian.kit.access_log import audit_row_dict, list_access
from yilian.kit.auth.domain import Actor, Permission, Role
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.registry import service
from yilian.registry.domain import ConsentScope, InsuranceScheme, RelationType, Sex, Title
from yilian.registry.schemas import ConsentCreate, PatientCreate, PatientRead, RelationCreate, RelationRead
from yilian.web import nav, shell
from yilian.web.components import columns_of
from yilian.web.shell import allowed, cards_on_phone, frame, guard, show_error

nav.register(
    nav.NavItem(
        label="患者检索",
        path="/patients",
        icon="person_search",
        group="患者服务",
        permission=Permission.PATIENT_SEARCH,
        order=10,
        description="按姓名、拼音首字母、身份证号或手机号查找患者，建档",
    )
)
nav.register(
    nav.NavItem(
        label="机构与科室",
        path="/institutions",
        icon="apartment",
        group="医联体",
        permission=Permission.REGISTRY_READ,
        order=50,
        description="医联体成员机构、院区、科室与医务人员",
    )
)

nav.register(
    nav.NavItem(
        label="我的档案",
        path="/me",
        icon="badge",
        group="患者服务",
        roles=frozenset({Role.PATIENT, Role.FAMILY}),
        order=5,
        description="本人档案；家属可查看已授权家人的档案",
    )
)

PAGE_SIZE = 20


shell.provide_institution_names(
    lambda session: {i.id: i.name for i in service.list_institutions(session, limit=1000)[0]}
)


@ui.page("/me")
def me_page(request: Request) -> RedirectResponse | None:
    """A patient's own record, or for a family member the relatives who gave consent."""
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    with unit_of_work() as session:
        people = [service.patient_summary(p) for p in service.my_patients(session, actor)]
    if actor.role is Role.PATIENT and people:
        return RedirectResponse(f"/patients/{people[0].id}", status_code=303)
    with frame(actor, "我的档案"):
        if not people:
            ui.label("暂无可查看的档案。家人授权后，这里会显示其档案。").classes("text-grey-7")
        for p in people:
            with ui.link(target=f"/patients/{p.id}").classes("no-underline"):
                with ui.card().classes("w-96 cursor-pointer hover:shadow-md"):
                    ui.label(p.name).classes("text-lg text-grey-9")
                    ui.label(f"{p.sex_label} · {p.age} 岁 · {p.insurance_label} · {p.mpi_id}").classes(
                        "text-grey-7"
                    )
    return None


PATIENT_COLUMNS: list[dict[str, Any]] = [
    {"name": "mpi_id", "label": "主索引号", "field": "mpi_id", "align": "left"},
    {"name": "name", "label": "姓名", "field": "name", "align": "left"},
    {"name": "sex", "label": "性别", "field": "sex_label", "align": "left"},
    {"name": "age", "label": "年龄", "field": "age", "align": "left"},
    {"name": "id_number", "label": "身份证号", "field": "id_number_masked", "align": "left"},
    {"name": "phone", "label": "手机号", "field": "phone_masked", "align": "left"},
    {"name": "insurance", "label": "医保", "field": "insurance_label", "align": "left"},
]


@ui.page("/patients")
def patients_page(request: Request, q: str = "") -> RedirectResponse | None:
    """Search patients and create a record."""
    actor = guard(request, Permission.PATIENT_SEARCH)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.PATIENT_SEARCH):
        return None
    dialog = ui.dialog()
    with frame(actor, "患者检索"):
        search = _PatientSearch(actor, q, dialog)
    with dialog, ui.card().classes("w-[36rem]"):
        _NewPatientForm(actor, dialog)
    if q:
        search.load(0)
    return None


class _PatientSearch:
    """The search box, the paged table of patients (a row opens the record for those who may read it)."""

    def __init__(self, actor: Actor, q: str, dialog: ui.dialog) -> None:
        self.actor = actor
        self.offset = 0
        with ui.row().classes("items-center gap-2 w-full"):
            self.box = (
                ui.input("姓名 / 拼音首字母 / 身份证号（或前几位）/ 手机号", value=q)
                .props('outlined dense clearable data-testid="patient-query"')
                .classes("w-96")
            )
            self.box.on("keydown.enter", lambda: self.load(0))
            ui.button("查询", icon="search", on_click=lambda: self.load(0)).props(
                'data-testid="patient-search"'
            )
            if actor.has(Permission.PATIENT_CREATE):
                ui.button("新建档案", icon="person_add", on_click=lambda: dialog.open()).props("outline")
        self.table = (
            ui.table(columns=PATIENT_COLUMNS, rows=[], row_key="id")
            .classes("w-full")
            .props('dense flat bordered data-testid="patient-table"')
        )
        if actor.has(Permission.PATIENT_READ):  # finding a patient is not opening the record
            self.table.on("rowClick", lambda e: ui.navigate.to(f"/patients/{e.args[1]['id']}"))
        with ui.row().classes("items-center gap-2"):
            self.prev_btn = ui.button(
                "上一页", on_click=lambda: self.load(max(0, self.offset - PAGE_SIZE))
            ).props("flat")
            self.info = ui.label("").props('data-testid="patient-count"')
            self.next_btn = ui.button("下一页", on_click=lambda: self.load(self.offset + PAGE_SIZE)).props(
                "flat"
            )

    def load(self, offset: int) -> None:
        with unit_of_work() as session:
            rows, total = service.search_patients(
                session, self.actor, q=self.box.value or "", offset=offset, limit=PAGE_SIZE
            )
            self.table.rows = [service.patient_summary(p).model_dump(mode="json") for p in rows]
        self.offset = offset
        self.info.set_text(
            f"共 {total} 位患者，第 {offset + 1}–{min(offset + PAGE_SIZE, total)} 位"
            if total
            else "未找到患者"
        )
        self.prev_btn.set_enabled(offset > 0)
        self.next_btn.set_enabled(offset + PAGE_SIZE < total)


class _NewPatientForm:
    """新建患者档案: the form in the dialog; saving opens the new record."""

    def __init__(self, actor: Actor, dialog: ui.dialog) -> None:
        self.actor = actor
        self.dialog = dialog
        ui.label("新建患者档案").classes("text-h6")
        with ui.grid(columns=2).classes("w-full gap-2"):
            self.f_name = ui.input("姓名").props("outlined dense")
            self.f_id = ui.input("身份证号码").props("outlined dense")
            self.f_sex = ui.select({s.value: s.label for s in Sex}, label="性别（可不填）").props(
                "outlined dense clearable"
            )
            self.f_birth = ui.input("出生日期 YYYY-MM-DD（可不填）").props("outlined dense")
            self.f_phone = ui.input("手机号码").props("outlined dense")
            self.f_scheme = ui.select(
                {s.value: s.label for s in InsuranceScheme},
                label="医保类型",
                value=InsuranceScheme.SELF_PAY.value,
            ).props("outlined dense")
            self.f_region = ui.input("参保地区划代码", value="320600").props("outlined dense")
            self.f_addr = ui.input("住址").props("outlined dense")
        with ui.row().classes("justify-end w-full"):
            ui.button("取消", on_click=dialog.close).props("flat")
            ui.button("保存", on_click=self.create)

    def _data(self) -> PatientCreate | None:
        """The form as a ``PatientCreate``, or None (with a notice) when it is incomplete."""
        try:
            birth = date.fromisoformat(self.f_birth.value) if self.f_birth.value else None
        except ValueError:
            ui.notify("出生日期格式应为 YYYY-MM-DD", type="negative")
            return None
        try:
            return PatientCreate(
                name=self.f_name.value or "",
                id_number=self.f_id.value or "",
                sex=Sex(self.f_sex.value) if self.f_sex.value else None,
                birth_date=birth,
                phone=self.f_phone.value or "",
                insurance_scheme=InsuranceScheme(self.f_scheme.value),
                insured_region=self.f_region.value or "",
                address=self.f_addr.value or "",
                real_name_verified=True,
            )
        except ValueError as exc:
            ui.notify(
                f"请完整填写：{exc.errors()[0]['loc'][0] if hasattr(exc, 'errors') else exc}", type="negative"
            )
            return None

    def create(self) -> None:
        data = self._data()
        if data is None:
            return
        try:
            with unit_of_work() as session:
                patient = service.create_patient(session, self.actor, data)
                new_id = patient.id
        except YilianError as exc:
            show_error(exc)
            return
        self.dialog.close()
        ui.notify("建档成功", type="positive")
        ui.navigate.to(f"/patients/{new_id}")


def _field(label: str, value: object, testid: str = "") -> None:
    with ui.column().classes("gap-0 min-w-40"):
        ui.label(label).classes("text-xs text-grey-7")
        el = ui.label(str(value) if value not in (None, "") else "—").classes("text-base")
        if testid:
            el.props(f'data-testid="{testid}"')


@ui.page("/patients/{patient_id}")
def patient_page(request: Request, patient_id: int) -> RedirectResponse | None:
    """A patient's record: identity, insurance, family relations, consents and who looked at it."""
    actor = guard(request, Permission.PATIENT_READ)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.PATIENT_READ):
        return None
    try:
        record = _PatientRecord.load(actor, patient_id)
    except YilianError as exc:
        with frame(actor, "患者档案"):
            ui.label(f"{exc.title}：{exc.detail}").classes("text-negative").props('data-testid="page-error"')
        return None
    patient = record.patient
    with frame(actor, f"患者档案 · {patient.name}"):
        _identity_cards(patient, record.home_name)
        with ui.card().classes("w-full"):
            ui.label("家庭关系").classes("text-subtitle1 text-primary")
            _relations_table(record.relations)
            if actor.has(Permission.FAMILY_MANAGE) and (
                actor.role is not Role.PATIENT or actor.patient_id == patient_id
            ):
                _family_actions(actor, patient_id, record.relations)
        _consents_card(record.consent_rows)
        if record.audit_rows:
            _access_card(record.audit_rows)
    return None


@dataclass
class _PatientRecord:
    """What the record page shows, read in one unit of work (the read is access-logged)."""

    patient: PatientRead
    home_name: str
    relations: list[RelationRead]
    consent_rows: list[dict[str, Any]]
    audit_rows: list[dict[str, Any]]

    @classmethod
    def load(cls, actor: Actor, patient_id: int) -> _PatientRecord:
        with unit_of_work() as session:
            patient = service.patient_read(
                service.get_patient(session, actor, patient_id, reason="查看档案（网页）")
            )
            home = (
                service.get_institution(session, patient.home_institution_id)
                if patient.home_institution_id
                else None
            )
            relations = service.relation_reads(session, patient_id)
            consents = service.list_consents(session, actor, patient_id)
            names = {r.relative_id: r.relative_name for r in relations}
            consent_rows: list[dict[str, Any]] = [
                {
                    "id": c.id,
                    "scope": c.scope,
                    "direction": "授出" if c.grantor_id == patient_id else "获得",
                    "other": names.get(c.grantee_id if c.grantor_id == patient_id else c.grantor_id, ""),
                    "expires_at": c.expires_at.strftime("%Y-%m-%d") if c.expires_at else "长期",
                    "state": "已撤销" if c.revoked_at else "有效",
                }
                for c in consents
            ]
            audit_rows = []
            if actor.has(Permission.AUDIT_READ):
                rows, _ = list_access(session, patient_id=patient_id, limit=20)
                audit_rows = [audit_row_dict(r) for r in rows]
        return cls(patient, home.name if home else "", relations, consent_rows, audit_rows)


def _identity_cards(patient: PatientRead, home_name: str) -> None:
    """基本信息 and 医保与建档: two cards of labelled fields."""
    with ui.card().classes("w-full"):
        ui.label("基本信息").classes("text-subtitle1 text-primary")
        with ui.row().classes("gap-8 flex-wrap"):
            _field("主索引号", patient.mpi_id, "mpi-id")
            _field("姓名", patient.name, "patient-name")
            _field("性别", patient.sex_label)
            _field("出生日期", patient.birth_date.isoformat())
            _field("年龄", f"{patient.age} 岁")
            _field("身份证号", patient.id_number_masked, "patient-id-number")
            _field("手机号", patient.phone_masked)
            _field("实名认证", "已认证" if patient.real_name_verified else "未认证")
    with ui.card().classes("w-full"):
        ui.label("医保与建档").classes("text-subtitle1 text-primary")
        with ui.row().classes("gap-8 flex-wrap"):
            _field("医保类型", patient.insurance_label)
            _field("参保地", patient.insured_region)
            _field("建档机构", home_name)
            _field("住址", patient.address)


def _left_table(columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> None:
    """A dense, flat table of left-aligned ``(field, label)`` columns, shown as cards on a phone."""
    cards_on_phone(ui.table(columns=columns_of(columns, align="left"), rows=rows, row_key="id")).props(
        "dense flat"
    ).classes("w-full")


def _relations_table(relations: list[RelationRead]) -> None:
    if relations:
        _left_table(
            [("relative_name", "亲属"), ("relation_label", "关系"), ("verification_label", "核验")],
            [r.model_dump(mode="json") for r in relations],
        )
    else:
        ui.label("暂无登记的家庭关系").classes("text-grey-7")


def _consents_card(consent_rows: list[dict[str, Any]]) -> None:
    with ui.card().classes("w-full"):
        ui.label("授权").classes("text-subtitle1 text-primary")
        if consent_rows:
            for row in consent_rows:
                row["scope"] = ConsentScope(str(row["scope"])).label
            _left_table(
                [
                    ("scope", "授权事项"),
                    ("direction", "方向"),
                    ("other", "对方"),
                    ("expires_at", "有效期至"),
                    ("state", "状态"),
                ],
                consent_rows,
            )
        else:
            ui.label("暂无授权").classes("text-grey-7")


def _access_card(audit_rows: list[dict[str, Any]]) -> None:
    with ui.card().classes("w-full"):
        ui.label("最近访问记录").classes("text-subtitle1 text-primary")
        cards_on_phone(
            ui.table(
                columns=[
                    {"name": "at", "label": "时间", "field": "at", "align": "left"},
                    {"name": "username", "label": "用户", "field": "username", "align": "left"},
                    {"name": "action", "label": "操作", "field": "action_label", "align": "left"},
                    {"name": "reason", "label": "事由", "field": "reason", "align": "left"},
                ],
                rows=audit_rows,
                row_key="id",
            )
        ).props("dense flat").classes("w-full")


def _run_and_reload(action: Callable[[Session], object], done: str) -> None:
    """Run ``action`` in a unit of work; on success say ``done`` and reload the record."""
    try:
        with unit_of_work() as session:
            action(session)
    except YilianError as exc:
        show_error(exc)
        return
    ui.notify(done, type="positive")
    ui.navigate.reload()


def _family_actions(actor: Actor, patient_id: int, relations: list[RelationRead]) -> None:
    """Forms to register a relative, verify a relation and grant a consent."""
    with ui.expansion("登记亲属", icon="group_add").classes("w-full"):
        _add_relative_form(actor, patient_id)
    if not relations:
        return
    with ui.expansion("核验关系与授权", icon="verified_user").classes("w-full"):
        _verify_and_consent_form(actor, patient_id, relations)


def _add_relative_form(actor: Actor, patient_id: int) -> None:
    with ui.row().classes("items-end gap-2"):
        id_number = ui.input("亲属身份证号码").props("dense outlined").classes("w-64")
        relation = (
            ui.select(
                {r.value: r.label for r in RelationType},
                label="亲属是本人的",
                value=RelationType.PARENT.value,
            )
            .props("dense outlined")
            .classes("w-40")
        )
        ui.button(
            "登记",
            on_click=lambda: _run_and_reload(
                lambda s: service.add_relation(
                    s,
                    actor,
                    patient_id,
                    RelationCreate(
                        relative_id_number=id_number.value, relation_type=RelationType(relation.value)
                    ),
                ),
                "已登记，待核验",
            ),
        )


def _verify_and_consent_form(actor: Actor, patient_id: int, relations: list[RelationRead]) -> None:
    options = {r.id: f"{r.relative_name}（{r.relation_label}，{r.verification_label}）" for r in relations}
    with ui.row().classes("items-end gap-2"):
        chosen = (
            ui.select(options, label="家庭关系", value=relations[0].id)
            .props("dense outlined")
            .classes("w-72")
        )
        if actor.has(Permission.PATIENT_UPDATE):
            ui.button(
                "亲属已确认",
                on_click=lambda: _run_and_reload(
                    lambda s: service.confirm_relation(s, actor, int(chosen.value)), "已确认"
                ),
            ).props("outline")
            ui.button(
                "核验通过",
                on_click=lambda: _run_and_reload(
                    lambda s: service.verify_relation(s, actor, int(chosen.value)), "已核验"
                ),
            ).props("outline")
    with ui.row().classes("items-end gap-2"):
        scope = (
            ui.select(
                {c.value: c.label for c in ConsentScope},
                label="授权事项",
                value=ConsentScope.COMPANION.value,
            )
            .props("dense outlined")
            .classes("w-56")
        )
        ui.button(
            "本人授权给亲属",
            on_click=lambda: _run_and_reload(
                lambda s: service.grant_consent(
                    s,
                    actor,
                    ConsentCreate(
                        relation_id=int(chosen.value),
                        grantor_id=patient_id,
                        scope=ConsentScope(scope.value),
                    ),
                ),
                "已授权",
            ),
        )


@ui.page("/institutions")
def institutions_page(request: Request, selected: int | None = None) -> RedirectResponse | None:
    """The alliance's institutions; choosing one shows its campuses, departments and practitioners."""
    actor = guard(request, Permission.REGISTRY_READ)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.REGISTRY_READ):
        return None
    with unit_of_work() as session:
        institutions = [service.institution_read(i) for i in service.list_institutions(session, limit=200)[0]]
    with frame(actor, "机构与科室"):
        with ui.row().classes("w-full gap-4 no-wrap items-start"):
            with ui.column().classes("w-80 gap-2"):
                for inst in institutions:
                    with (
                        ui.card()
                        .classes("w-full cursor-pointer hover:shadow-md q-pa-sm")
                        .on("click", lambda _e, i=inst.id: show(i))
                    ):
                        ui.label(inst.name).classes("text-base text-grey-9")
                        with ui.row().classes("gap-1"):
                            ui.badge(inst.rank_label).props("outline color=primary")
                            if inst.category_label != inst.rank_label:
                                ui.badge(inst.category_label).props("outline color=secondary")
            detail = ui.column().classes("flex-grow gap-3")

    def show(institution_id: int) -> None:
        detail.clear()
        with detail:
            _institution_detail(institution_id)

    if selected or institutions:
        show(selected or institutions[0].id)
    return None


def _institution_detail(institution_id: int) -> None:
    """One institution: its name and campuses, its departments and its practitioners."""
    with unit_of_work() as session:
        inst = service.institution_read(service.get_institution(session, institution_id))
        campuses = {c.id: c.name for c in service.campuses_of(session, institution_id)}
        depts, _ = service.list_departments(session, institution_id=institution_id, limit=200)
        practitioners, _ = service.list_practitioners(session, institution_id=institution_id, limit=200)
        reads = service.practitioner_reads(session, practitioners)
        dept_names = {d.id: d.name for d in depts}
        dept_rows = [
            {
                "code": d.code,
                "name": d.name,
                "campus": campuses.get(d.campus_id or 0, ""),
                "location": d.location,
            }
            for d in depts
        ]
    ui.label(inst.name).classes("text-h6")
    ui.label(f"{inst.rank_label} · {inst.category_label} · 编码 {inst.code} · {inst.address}").classes(
        "text-grey-8"
    )
    if campuses:
        ui.label("院区：" + "、".join(campuses.values())).classes("text-grey-8")
    ui.table(
        columns=columns_of(
            [("code", "科室编码"), ("name", "科室"), ("campus", "院区"), ("location", "位置")], align="left"
        ),
        rows=dept_rows,
        row_key="code",
        title=f"科室（{len(dept_rows)}）",
    ).props("dense flat bordered").classes("w-full")
    ui.table(
        columns=columns_of(
            [("code", "工号"), ("name", "姓名"), ("title", "职称"), ("dept", "科室")], align="left"
        ),
        rows=[
            {
                "code": p.code,
                "name": p.name,
                "title": Title(p.title).value,
                "dept": "、".join(dept_names.get(d, "") for d in p.department_ids),
            }
            for p in reads
        ],
        row_key="code",
        title=f"医务人员（{len(reads)}）",
        pagination=15,
    ).props("dense flat bordered").classes("w-full")
