"""Pages of the alliance's work beyond referral: the alliance dashboard with its indicators, charts and
Excel export (/alliance/dashboard), the expert's sitting calendar (/alliance/sittings) and the reading
centre's worklist and report editor (/alliance/readings)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.alliance import service, stats
from yilian.alliance.domain import PERIOD_LABELS, WEEKDAY_LABELS, ReadingState, templates_for
from yilian.alliance.pages import two_lists
from yilian.alliance.schemas import SittingRecord
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.web import nav
from yilian.web.shell import frame, guard, show_error

GROUP = "医联体"
nav.register(
    nav.NavItem(
        "医联体运行指标",
        "/alliance/dashboard",
        "insights",
        GROUP,
        any_of=frozenset({Permission.ALLIANCE_STATS, Permission.ALLIANCE_MANAGE}),
        order=62,
        description="双向转诊、预留号源使用、基层就诊率、专家坐诊与共享阅片周转，按月按成员，可导出 Excel",
    )
)


nav.register(
    nav.NavItem(
        "共享诊断中心",
        "/alliance/readings",
        "biotech",
        GROUP,
        Permission.REFERRAL_WRITE,
        order=63,
        description="诊断中心认领阅片、按模板书写报告、第二人审核；基层查看送检报告",
    )
)

nav.register(
    nav.NavItem(
        "专家坐诊",
        "/alliance/sittings",
        "event_available",
        GROUP,
        any_of=frozenset({Permission.REFERRAL_WRITE, Permission.ALLIANCE_MANAGE}),
        order=64,
        description="派驻坐诊日历：坐诊机构、科室与日期，登记到岗、接诊、带教与会诊",
    )
)

READING_COLORS = {"queued": "orange", "claimed": "blue", "reported": "teal", "verified": "green"}
OPEN_STATES = ("queued", "claimed", "reported")
SENT_SHOWN = 30  # the clinic's tab: its latest studies


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _num(v: float | None, unit: str = "") -> str:
    return "—" if v is None else f"{v:g}{unit}"


# ---------------------------------------------------------------- the alliance dashboard


@ui.page("/alliance/dashboard")
def dashboard_page(request: Request) -> RedirectResponse | None:
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "医联体运行指标"):
        if not (actor.has(Permission.ALLIANCE_STATS) or actor.has(Permission.ALLIANCE_MANAGE)):
            ui.label("无权查看医联体统计").classes("text-negative")
            return None
        _Dashboard(actor)
    return None


class _Dashboard:
    """Pick an alliance and a period; the month totals as cards and charts, the members as a table."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with unit_of_work() as session:
            networks = service.list_networks(session, actor)
        self.options = {n.id: n.name for n in networks}
        today = business_date()
        first = date(today.year, today.month, 1)
        start = (first - timedelta(days=150)).replace(day=1)
        with ui.row().classes("items-end gap-3"):
            self.network = (
                ui.select(
                    self.options, value=next(iter(self.options), None), label="医联体", on_change=self.draw
                )
                .props('data-testid="dash-network"')
                .classes("min-w-64")
            )
            self.start = ui.input("开始日期", value=start.isoformat()).props(
                'type=date data-testid="dash-start"'
            )
            ahead = today + timedelta(days=14)  # the referral places kept for the coming two weeks
            self.end = ui.input("结束日期", value=ahead.isoformat()).props('type=date data-testid="dash-end"')
            ui.button("统计", on_click=self.draw).props('data-testid="dash-run"')
            self.export = ui.link("导出 Excel", "#").props('data-testid="dash-xlsx"')
        self.body = ui.column().classes("w-full gap-4")
        self.draw()

    def draw(self) -> None:
        self.body.clear()
        if self.network.value is None:
            with self.body:
                ui.label("暂无医联体").classes("text-grey-7")
            return
        try:
            start, end = date.fromisoformat(self.start.value), date.fromisoformat(self.end.value)
            with unit_of_work() as session:
                ind = service.indicators(session, self.actor, int(self.network.value), start, end)
        except ValueError:
            ui.notify("请输入正确的日期", type="warning")
            return
        except YilianError as exc:
            show_error(exc)
            return
        self.export.props(
            f'href="/api/v1/alliance/networks/{ind.network.id}/indicators.xlsx?start={start}&end={end}"'
        )
        with self.body:
            _cards(ind)
            _charts(ind)
            _member_table(ind)


def _cards(ind: service.Indicators) -> None:
    t = stats.period_total(ind.rows, ind.network.id, ind.network.name)
    figures = [
        ("上转 / 下转", f"{t.up_referrals} / {t.down_referrals}", "人次"),
        ("平均接收用时", _num(t.acceptance_hours, " 小时"), f"已答复 {t.answered} 单"),
        ("转诊预留号使用率", _pct(t.reserve_use_rate), f"预留 {t.reserved_places}，使用 {t.reserved_used}"),
        ("基层就诊率", _pct(t.grassroots_share), f"门急诊 {t.visits} 人次，基层 {t.grassroots_visits}"),
        ("专家坐诊天数", str(t.sitting_days), f"坐诊门诊量 {t.sitting_patients}"),
        ("共享阅片平均周转", _num(t.reading_hours, " 小时"), f"报告 {t.readings} 份"),
    ]
    with ui.row().classes("w-full gap-3").props('data-testid="dash-cards"'):
        for title, value, note in figures:
            with ui.card().classes("min-w-44"):
                ui.label(title).classes("text-caption text-grey-7")
                ui.label(value).classes("text-h6").props(f'data-testid="dash-{title}"')
                ui.label(note).classes("text-caption text-grey-6")


def _chart(options: dict[str, Any], testid: str) -> None:
    base = {"animation": False, "tooltip": {"trigger": "axis"}, "legend": {"bottom": 0}}
    ui.echart(base | options).classes("w-full md:w-[48%] h-72").props(f'data-testid="{testid}"')


def _charts(ind: service.Indicators) -> None:
    months = [r.month for r in ind.totals]
    pct = {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}}
    members = [r for r in stats.totals_by_member(ind.rows) if not r.is_lead]
    with ui.row().classes("w-full gap-4"):
        _chart(
            {
                "title": {"text": "双向转诊（按月）", "textStyle": {"fontSize": 14}},
                "xAxis": {"type": "category", "data": months},
                "yAxis": {"type": "value", "minInterval": 1},
                "series": [
                    {"name": "上转", "type": "bar", "data": [r.up_referrals for r in ind.totals]},
                    {"name": "下转", "type": "bar", "data": [r.down_referrals for r in ind.totals]},
                ],
            },
            "dash-chart-referrals",
        )
        _chart(
            {
                "title": {"text": "基层就诊率与预留号使用率", "textStyle": {"fontSize": 14}},
                "xAxis": {"type": "category", "data": months},
                "yAxis": pct,
                "series": [
                    {
                        "name": "基层就诊率",
                        "type": "line",
                        "data": [_p(r.grassroots_share) for r in ind.totals],
                    },
                    {
                        "name": "预留号使用率",
                        "type": "line",
                        "data": [_p(r.reserve_use_rate) for r in ind.totals],
                    },
                ],
            },
            "dash-chart-rates",
        )
        _chart(
            {
                "title": {"text": "接收用时与阅片周转（小时）", "textStyle": {"fontSize": 14}},
                "xAxis": {"type": "category", "data": months},
                "yAxis": {"type": "value"},
                "series": [
                    {"name": "平均接收用时", "type": "bar", "data": [r.acceptance_hours for r in ind.totals]},
                    {"name": "平均阅片周转", "type": "bar", "data": [r.reading_hours for r in ind.totals]},
                ],
            },
            "dash-chart-hours",
        )
        _chart(
            {
                "title": {"text": "专家坐诊（按成员机构）", "textStyle": {"fontSize": 14}},
                "xAxis": {
                    "type": "category",
                    "data": [r.institution for r in members],
                    "axisLabel": {"rotate": 20},
                },
                "yAxis": {"type": "value", "minInterval": 1},
                "series": [
                    {"name": "坐诊天数", "type": "bar", "data": [r.sitting_days for r in members]},
                    {"name": "坐诊门诊量", "type": "bar", "data": [r.sitting_patients for r in members]},
                ],
            },
            "dash-chart-sittings",
        )


def _p(v: float | None) -> float | None:
    return None if v is None else round(100 * v, 1)


def _member_table(ind: service.Indicators) -> None:
    columns = [
        {"name": "month", "label": "月份", "field": "month", "align": "left"},
        {"name": "institution", "label": "机构", "field": "institution", "align": "left"},
        {"name": "up", "label": "上转", "field": "up"},
        {"name": "down", "label": "下转", "field": "down"},
        {"name": "accepted", "label": "已接收", "field": "accepted"},
        {"name": "hours", "label": "接收用时(时)", "field": "hours"},
        {"name": "reserve", "label": "预留号使用", "field": "reserve"},
        {"name": "visits", "label": "门急诊人次", "field": "visits"},
        {"name": "sitting", "label": "坐诊天数", "field": "sitting"},
        {"name": "readings", "label": "阅片报告", "field": "readings"},
        {"name": "turnaround", "label": "阅片周转(时)", "field": "turnaround"},
    ]
    rows = [
        {
            "key": f"{r.month}-{r.institution_id}",
            "month": r.month,
            "institution": r.institution + ("（牵头）" if r.is_lead else ""),
            "up": r.up_referrals,
            "down": r.down_referrals,
            "accepted": r.accepted,
            "hours": _num(r.acceptance_hours),
            "reserve": f"{r.reserved_used}/{r.reserved_places}" if r.reserved_places else "—",
            "visits": r.visits,
            "sitting": r.sitting_days,
            "readings": r.readings,
            "turnaround": _num(r.reading_hours),
        }
        for r in reversed(ind.rows)
    ]
    ui.label("成员机构按月").classes("text-subtitle1")
    ui.table(columns=columns, rows=rows, row_key="key", pagination=12).classes("w-full").props(
        'dense flat data-testid="dash-members"'
    )


# ---------------------------------------------------------------- the reading centre


@ui.page("/alliance/readings")
def readings_page(request: Request) -> RedirectResponse | None:
    actor = guard(request, Permission.REFERRAL_WRITE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not actor.has(Permission.REFERRAL_WRITE):
        return None
    with frame(actor, "共享诊断中心"):
        _Readings(actor)
    return None


class _Readings:
    """The centre's worklist (claim, write with a template, verify) and the studies this institution sent."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.centre, self.sent = two_lists(
            ("centre", "诊断中心工作列表", "tab-centre", "reading-worklist"),
            ("sent", "本院送检", "tab-sent-readings", "reading-sent"),
        )
        self.draw()

    def draw(self) -> None:
        try:
            with unit_of_work() as session:
                work = service.reading_views(session, service.worklist(session, self.actor, OPEN_STATES))
                sent = service.reading_views(session, service.member_readings(session, self.actor))
        except YilianError as exc:
            show_error(exc)
            return
        for box, rows, actions in (
            (self.centre, work, True),
            (self.sent, list(reversed(sent))[:SENT_SHOWN], False),
        ):
            box.clear()
            with box:
                if not rows:
                    ui.label("暂无阅片任务" if actions else "本院暂无送检").classes("text-grey-7")
                for v in rows:
                    self.card(v, actions)

    def card(self, v: service.ReadingView, actions: bool) -> None:
        r = v.reading
        with ui.card().classes("w-full").props(f'data-testid="reading-{r.id}"'):
            with ui.row().classes("items-center gap-2"):
                ui.badge(v.state_label, color=READING_COLORS[r.state]).props(
                    f'data-testid="reading-state-{r.id}"'
                )
                ui.label(f"{r.title} · {v.patient}").classes("text-subtitle2")
            ui.label(f"{v.member} → {v.centre}诊断中心 · 送检 {_local(r.queued_at)}").classes("text-caption")
            if r.reader:
                ui.label(f"阅片：{r.reader}" + (f"　审核：{r.verifier}" if r.verifier else "")).classes(
                    "text-caption text-grey-7"
                )
            if r.conclusion:
                ui.label(f"检查所见：{r.findings}").classes("text-caption")
                ui.label(f"诊断意见：{r.conclusion}").classes("text-caption text-teal-9").props(
                    f'data-testid="reading-conclusion-{r.id}"'
                )
            if actions:
                self.actions(r)

    def actions(self, r: Any) -> None:
        a, rid = self.actor, r.id
        with ui.row().classes("gap-2"):
            if r.state == ReadingState.QUEUED:
                ui.button(
                    "认领", on_click=lambda: self.run(lambda s: service.claim_reading(s, a, rid), "已认领")
                ).props(f'data-testid="claim-{rid}" dense')
            if r.state == ReadingState.CLAIMED and r.reader == a.username:
                ui.button("写报告", on_click=lambda: self.editor(rid, r.kind, r.needs_verify)).props(
                    f'data-testid="write-{rid}" dense'
                )
            if r.state == ReadingState.REPORTED and r.reader != a.username:
                ui.button(
                    "审核通过",
                    on_click=lambda: self.run(
                        lambda s: service.verify_reading(s, a, rid), "报告已审核并回传"
                    ),
                ).props(f'data-testid="verify-{rid}" dense')

    def run(self, fn: Any, done: str) -> None:
        try:
            with unit_of_work() as session:
                fn(session)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify(done, type="positive")
        self.draw()

    def editor(self, reading_id: int, kind: str, needs_verify: bool) -> None:
        """The report editor: pick a template of the study's kind, edit findings and conclusion, submit."""
        templates = {n: (f, c) for n, f, c in templates_for(kind)}
        done = "报告已提交，待第二人审核" if needs_verify else "报告已回传送检机构"
        with ui.dialog() as dialog, ui.card().classes("w-[40rem] max-w-full"):
            ui.label("书写阅片报告").classes("text-h6")
            findings = ui.textarea("检查所见").props('data-testid="rep-findings" autogrow').classes("w-full")
            conclusion = (
                ui.textarea("诊断意见").props('data-testid="rep-conclusion" autogrow').classes("w-full")
            )

            def use(e: Any) -> None:
                if e.value in templates:
                    findings.value, conclusion.value = templates[e.value]

            ui.select(list(templates), label="报告模板", on_change=use).props(
                'data-testid="rep-template"'
            ).classes("w-full").move(target_index=1)

            def submit() -> None:
                try:
                    with unit_of_work() as session:
                        service.report_reading(
                            session, self.actor, reading_id, findings.value or "", conclusion.value or ""
                        )
                except YilianError as exc:
                    show_error(exc)
                    return
                dialog.close()
                ui.notify(done, type="positive")
                self.draw()

            with ui.row():
                ui.button("提交报告", on_click=submit).props('data-testid="rep-submit"')
                ui.button("取消", on_click=dialog.close).props("flat")
        dialog.open()


def _local(at: Any) -> str:
    return service.local_time(at).strftime("%m-%d %H:%M") if at else "—"


# ---------------------------------------------------------------- the expert's sitting calendar


@ui.page("/alliance/sittings")
def sittings_page(request: Request) -> RedirectResponse | None:
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "专家坐诊"):
        _Sittings(actor)
    return None


class _Sittings:
    """Each posting with its sitting days; a past or today's day is recorded in a dialog."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.body = ui.column().classes("w-full gap-4").props('data-testid="sitting-calendar"')
        self.draw()

    def draw(self) -> None:
        with unit_of_work() as session:
            views = service.sitting_calendar(session, self.actor)
        self.body.clear()
        with self.body:
            if not views:
                ui.label("暂无派驻坐诊").classes("text-grey-7")
            for v in views:
                self.posting(v)

    def posting(self, v: service.PostingView) -> None:
        p = v.posting
        came = sum(s.arrived for s in v.sittings)
        seen = sum(s.patients_seen for s in v.sittings)
        with ui.card().classes("w-full").props(f'data-testid="posting-{p.id}"'):
            ui.label(f"{v.expert} → {v.member} {v.department}").classes("text-subtitle1")
            ui.label(
                f"{p.start} 至 {p.end} · 每{v.weekdays_label}{PERIOD_LABELS.get(p.period, p.period)} · "
                f"坐诊日 {len(v.sittings)} 天，已到岗 {came} 天，接诊 {seen} 人次"
            ).classes("text-caption text-grey-7")
            with ui.row().classes("gap-2 flex-wrap"):
                for s in v.sittings:
                    self.day(s)

    def day(self, s: Any) -> None:
        today = business_date()
        if s.recorded_at is None:
            color, text = ("grey-5", "待坐诊") if s.day > today else ("orange", "待登记")
        else:
            color, text = ("green", f"接诊 {s.patients_seen}") if s.arrived else ("red-4", "未到岗")
        with ui.card().classes("p-2 w-28").props(f'data-testid="sitting-{s.id}"'):
            ui.label(f"{s.day:%m-%d} {WEEKDAY_LABELS[s.day.weekday()]}").classes("text-caption")
            ui.badge(text, color=color).props(f'data-testid="sitting-state-{s.id}"')
            if s.day <= today:
                ui.button("登记", on_click=lambda sid=s.id: self.record(sid)).props(
                    f'dense flat size=sm data-testid="record-{s.id}"'
                )

    def record(self, sitting_id: int) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label("登记坐诊").classes("text-h6")
            arrived = ui.checkbox("专家已到岗", value=True).props('data-testid="sit-arrived"')
            seen = ui.number("接诊人次", value=0, min=0, max=999, precision=0).props('data-testid="sit-seen"')
            rounds = ui.number("教学查房", value=0, min=0, max=99, precision=0).props(
                'data-testid="sit-rounds"'
            )
            consult = ui.number("会诊", value=0, min=0, max=99, precision=0).props(
                'data-testid="sit-consult"'
            )

            def submit() -> None:
                try:
                    data = SittingRecord(
                        arrived=bool(arrived.value),
                        patients_seen=int(seen.value or 0),
                        teaching_rounds=int(rounds.value or 0),
                        consultations=int(consult.value or 0),
                    )
                    with unit_of_work() as session:
                        service.record_sitting(session, self.actor, sitting_id, data)
                except YilianError as exc:
                    show_error(exc)
                    return
                except ValueError:
                    ui.notify("请填写正确的数字", type="warning")
                    return
                dialog.close()
                ui.notify("坐诊已登记", type="positive")
                self.draw()

            with ui.row():
                ui.button("保存", on_click=submit).props('data-testid="sit-submit"')
                ui.button("取消", on_click=dialog.close).props("flat")
        dialog.open()
