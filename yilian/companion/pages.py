"""Phone pages of 云伴诊: the patient invites relatives and sees who follows and what they saw
(/companion); the relative follows a visit live (/companion/follow/{id}) until it is revoked or expires."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.billing.domain import Channel
from yilian.companion import service
from yilian.companion.domain import Basis, EndReason, VisitKind
from yilian.companion.schemas import FollowCreate
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.clock import BUSINESS_TZ
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.web import nav
from yilian.web.shell import frame, guard, show_error

nav.register(
    nav.NavItem(
        label="云伴诊",
        path="/companion",
        icon="family_restroom",
        group="患者服务",
        roles=frozenset({Role.PATIENT, Role.FAMILY}),
        order=7,
        description="邀请家属远程陪诊：进度、结果、费用按次授权，可随时撤销",
    )
)

POLL_SECONDS = 1.0


def _local(at: Any) -> str:
    return at.astimezone(BUSINESS_TZ).strftime("%m-%d %H:%M") if at else "—"


@ui.page("/companion")
def companion_page(request: Request) -> RedirectResponse | None:
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "云伴诊"):
        if actor.patient_id is None:
            ui.label("仅患者或家属账号可使用云伴诊").classes("text-grey-7")
            return None
        with ui.column().classes("w-full max-w-md gap-3"):
            _following(actor)
            if actor.role is Role.PATIENT:
                _Invite(actor, actor.patient_id)
    return None


def _following(actor: Actor) -> None:
    with unit_of_work() as session:
        rows = service.follows_of_relative(session, actor)
        names = service.names_of(session, [f.patient_id for f in rows])
    if not rows:
        return
    ui.label("我可以陪诊的就诊").classes("text-subtitle1 text-primary")
    for f in rows:
        ended = service.end_reason(f)
        with ui.card().classes("w-full").props(f'data-testid="following-{f.id}"'):
            ui.label(f"{names.get(f.patient_id, '')} · {VisitKind(f.visit_kind).label}")
            ui.label(ended.label if ended else f"可见：{service.scope_labels(f)}").classes(
                "text-caption text-grey-7"
            )
            if ended is None:
                ui.button(
                    "进入陪诊", on_click=lambda fid=f.id: ui.navigate.to(f"/companion/follow/{fid}")
                ).props(f'data-testid="open-follow-{f.id}"')


class _Invite:
    """The patient's invite form and the list of who follows her, with what they saw."""

    def __init__(self, actor: Actor, patient_id: int) -> None:
        self.actor, self.patient_id = actor, patient_id
        with unit_of_work() as session:
            bookings, admissions, relatives = service.invitable(session, actor, patient_id)
        visits = {f"booking:{c.value}": c.label for c in bookings}
        visits |= {f"admission:{c.value}": c.label for c in admissions}
        ui.label("邀请家属陪诊").classes("text-subtitle1 text-primary")
        with ui.card().classes("w-full"):
            if not visits or not relatives:
                ui.label(
                    "暂无可陪诊的就诊" if not visits else "还没有已核验的家属，请先在挂号处登记并核验家庭关系"
                ).classes("text-grey-7").props('data-testid="invite-empty"')
                return
            self.visit = ui.select(visits, value=next(iter(visits)), label="本次就诊").classes("w-full")
            self.visit.props('data-testid="invite-visit"')
            self.relative = ui.select(
                {c.value: c.label for c in relatives}, value=relatives[0].value, label="家属"
            )
            self.relative.classes("w-full").props('data-testid="invite-relative"')
            self.progress = ui.checkbox("进度（签到、排队、叫号、检查、住院）", value=True).props(
                'data-testid="scope-progress"'
            )
            self.results = ui.checkbox("结果（检查检验结果发布时）", value=False).props(
                'data-testid="scope-results"'
            )
            self.bills = ui.checkbox("费用（账单与缴费）", value=False).props('data-testid="scope-bills"')
            ui.label("默认到本次就诊结束（住院：出院后 7 天）自动失效，可随时撤销").classes(
                "text-caption text-grey-7"
            )
            ui.button("邀请", on_click=self.invite).props('data-testid="invite-submit"')
        ui.label("谁在陪诊我").classes("text-subtitle1 text-primary")
        self.list = ui.column().classes("w-full gap-2").props('data-testid="followers"')
        self.draw()

    def invite(self) -> None:
        kind, vid = str(self.visit.value).split(":")
        data = FollowCreate(
            patient_id=self.patient_id,
            relative_id=int(self.relative.value),
            visit_kind=VisitKind(kind),
            visit_id=int(vid),
            progress=bool(self.progress.value),
            results=bool(self.results.value),
            bills=bool(self.bills.value),
            basis=Basis.SELF,
        )
        try:
            with unit_of_work() as session:
                service.grant(session, self.actor, data)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("已邀请，家属可在「云伴诊」中查看", type="positive")
        self.draw()

    def revoke(self, follow_id: int) -> None:
        try:
            with unit_of_work() as session:
                service.revoke(session, self.actor, follow_id)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("已撤销，对方将不再收到新动态", type="warning")
        self.draw()

    def draw(self) -> None:
        with unit_of_work() as session:
            rows = service.follows_of_patient(session, self.actor, self.patient_id)
            names = service.names_of(session, [f.relative_id for f in rows])
            seen = {f.id: service.seen_by(session, f.id) for f in rows}
        self.list.clear()
        with self.list:
            if not rows:
                ui.label("还没有邀请家属").classes("text-grey-7")
            for f in rows:
                ended = service.end_reason(f)
                with ui.card().classes("w-full").props(f'data-testid="follower-{f.id}"'):
                    with ui.row().classes("justify-between items-center w-full"):
                        ui.label(f"{names.get(f.relative_id, '')} · {service.scope_labels(f)}")
                        if ended is None:
                            ui.button(
                                "撤销", color="negative", on_click=lambda fid=f.id: self.revoke(fid)
                            ).props(f'flat dense data-testid="revoke-{f.id}"')
                        else:
                            ui.badge("已撤销" if ended is EndReason.REVOKED else "已到期", color="grey")
                    ui.label(f"授权于 {_local(f.granted_at)}，至 {_local(f.expires_at)}").classes(
                        "text-caption text-grey-7"
                    )
                    with ui.expansion(f"对方看到的 {len(seen[f.id])} 条动态").classes("w-full"):
                        for item in seen[f.id]:
                            ui.label(f"{_local(item.created_at)} {item.text}").classes("text-caption")


@ui.page("/companion/follow/{follow_id}")
def follow_page(request: Request, follow_id: int) -> RedirectResponse | None:
    """The relative's live feed on a phone: new lines appear as they come; it says why when it stops."""
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "云伴诊"):
        try:
            with unit_of_work() as session:
                view = service.open_feed(session, actor, follow_id, channel="web")
                who = service.names_of(session, [view.follow.patient_id]).get(view.follow.patient_id, "")
                payer = actor.patient_id == view.follow.relative_id and service.is_family_payer(
                    session, view.follow
                )
        except YilianError as exc:
            ui.label(exc.detail or exc.title).classes("text-negative").props('data-testid="follow-refused"')
            return None
        _Feed(view, who)
        if payer:
            _FamilyPay(actor, follow_id)
    return None


class _FamilyPay:
    """亲情付: the paying relative settles the patient's bills of today from the feed (billing's settlement,
    the relative paying the cash part); one idempotency key per page, so a double tap pays once."""

    def __init__(self, actor: Actor, follow_id: int) -> None:
        self.actor, self.follow_id = actor, follow_id
        self.key = f"family-{uuid.uuid4().hex}"
        with ui.column().classes("w-full max-w-md gap-2 q-mt-md"):
            ui.label("亲情付").classes("text-subtitle1 text-primary")
            self.channel = ui.select(
                {c.value: c.label for c in Channel if c is not Channel.CASH},
                value=Channel.WECHAT.value,
                label="我的支付方式",
            ).props('outlined dense data-testid="family-pay-channel"')
            self.channel.classes("w-full")
            self.box = ui.column().classes("w-full gap-2").props('data-testid="family-bills"')
            ui.button("刷新费用", on_click=self.draw).props('flat dense data-testid="family-bills-refresh"')
        self.draw()

    def draw(self) -> None:
        try:
            with unit_of_work() as session:
                bills = service.family_bills(session, self.actor, self.follow_id)
        except YilianError as exc:
            bills = []
            self.box.clear()
            with self.box:
                ui.label(exc.detail or exc.title).classes("text-grey-7")
            return
        self.box.clear()
        with self.box:
            if not bills:
                ui.label("今天暂无待付费用").classes("text-grey-7").props('data-testid="family-bills-empty"')
            for b in bills:
                with ui.card().classes("w-full q-pa-sm").props(f'data-testid="family-bill-{b.encounter_id}"'):
                    with ui.row().classes("justify-between items-center w-full no-wrap"):
                        ui.label(f"门诊费用 {yuan(b.total)}")
                        if b.settled:
                            ui.badge("已由我代付" if b.paid_by_relative else "已结算", color="positive")
                        else:
                            ui.button(
                                f"亲情付 {yuan(b.cash)}",
                                on_click=lambda eid=b.encounter_id: self.pay(eid),
                            ).props(f'dense data-testid="family-pay-{b.encounter_id}"')
                    ui.label(
                        "医保报销后由您支付现金部分" if not b.settled else f"现金部分 {yuan(b.cash)}"
                    ).classes("text-caption text-grey-7")

    def pay(self, encounter_id: int) -> None:
        try:
            with unit_of_work() as session:
                service.pay_as_family(
                    session,
                    self.actor,
                    self.follow_id,
                    encounter_id=encounter_id,
                    channel=Channel(self.channel.value),
                    idempotency_key=f"{self.key}-{encounter_id}",
                )
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("亲情付成功", type="positive")
        self.draw()


class _Feed:
    def __init__(self, view: service.FeedView, who: str) -> None:
        self.follow_id = view.follow.id
        self.last = 0
        with ui.column().classes("w-full max-w-md gap-2"):
            ui.label(f"正在陪诊：{who}").classes("text-h6")
            ui.label(f"可见：{service.scope_labels(view.follow)}").classes("text-caption text-grey-7")
            self.status = ui.label("实时更新中").classes("text-positive").props('data-testid="feed-status"')
            self.lines = ui.column().classes("w-full gap-1").props('data-testid="feed-lines"')
        self.show(view)
        self.timer = ui.timer(POLL_SECONDS, self.tick)
        if view.ended is not None:
            self.timer.deactivate()

    def show(self, view: service.FeedView) -> None:
        with self.lines:
            for item in view.items:
                if item.id > self.last:
                    self.last = item.id
                    with ui.card().classes("w-full q-pa-sm").props('data-testid="feed-line"'):
                        ui.label(item.text).classes("text-body1")
                        ui.label(_local(item.created_at)).classes("text-caption text-grey-6")
        if view.ended is not None:
            self.status.set_text(view.ended.label)
            self.status.classes(remove="text-positive", add="text-negative")
            if view.ended is EndReason.REVOKED:
                self.lines.clear()  # a revoked consent leaves nothing on the relative's screen

    def tick(self) -> None:
        with unit_of_work() as session:
            view = service.poll(session, self.follow_id, self.last)
        self.show(view)
        if view.ended is not None:
            self.timer.deactivate()
