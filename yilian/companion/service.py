"""云伴诊 services: per-visit consents (follows), the feed built from outbox events, live delivery.

A follow is checked twice: when an outbox event is turned into feed lines (a revoked or expired
follow gets no new line) and when a line is delivered or the feed is read (a stream stops with the
reason). Every grant, revocation and view is an access-audit row.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time as clock_time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.companion import repository as repo
from yilian.companion.domain import (
    DISCHARGE_GRACE_DAYS,
    Basis,
    EndReason,
    Line,
    Scope,
    VisitKind,
    is_minor,
    patient_ids_of,
    render,
    salutation,
)
from yilian.companion.errors import FollowNotFound, InvalidFollow, NotYourFollow
from yilian.companion.models import FeedItem, Follow
from yilian.companion.schemas import FollowCreate
from yilian.inpatient import service as inpatient
from yilian.kit import events
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor, Permission, Role
from yilian.kit.clock import business_date, local_datetime, utcnow
from yilian.kit.errors import Forbidden, NotFound
from yilian.outpatient import service as outpatient
from yilian.registry import service as registry
from yilian.registry.domain import VerificationState
from yilian.scheduling import service as scheduling
from yilian.scheduling.domain import BookingStatus

log = logging.getLogger("yilian.companion")

GUARDIAN_ROLES = ("parent", "guardian")  # what the granting relative must be to a minor


def _aware(at: datetime | None) -> datetime | None:
    if at is not None and at.tzinfo is None:
        from datetime import UTC

        return at.replace(tzinfo=UTC)
    return at


def scopes_of(f: Follow) -> list[Scope]:
    return [
        s
        for s, on in ((Scope.PROGRESS, f.progress), (Scope.RESULTS, f.results), (Scope.BILLS, f.bills))
        if on
    ]


def scope_labels(f: Follow) -> str:
    return "、".join(s.label for s in scopes_of(f)) or "无"


def end_reason(f: Follow, at: datetime | None = None) -> EndReason | None:
    """Why a follow no longer delivers (None while it is live)."""
    if f.revoked_at is not None:
        return EndReason.REVOKED
    expires = _aware(f.expires_at)
    if expires is not None and expires <= (at or utcnow()):
        return EndReason.EXPIRED
    return None


# ---------------------------------------------------------------- consent (grant / revoke)


def _verified_relation(session: Session, patient_id: int, relative_id: int) -> str:
    """What the relative is to the patient, if they are bound as family and verified; else refuse."""
    for r in registry.relation_reads(session, patient_id):
        if r.relative_id != relative_id:
            continue
        if r.verification_state is not VerificationState.VERIFIED:
            raise InvalidFollow(f"与该亲属的家庭关系{r.verification_label}，须核验后才能邀请")
        return r.relation_type.value
    raise InvalidFollow("只能邀请已在档案中登记并核验的家属")


def _check_basis(session: Session, actor: Actor, data: FollowCreate) -> None:
    patient = registry.find_patient(session, data.patient_id)
    if data.basis is Basis.SELF:
        if actor.role in (Role.PATIENT, Role.FAMILY):
            if actor.patient_id != data.patient_id:
                raise Forbidden("只有患者本人可以授权；监护人或代理人请选择相应的授权方式")
            return
        if not actor.has(Permission.FAMILY_MANAGE):  # the desk records the patient's own consent
            raise Forbidden("当前角色不能登记云伴诊授权")
        registry.get_patient(session, actor, data.patient_id, reason="登记云伴诊授权")
        return
    if actor.patient_id is None:
        if data.basis is Basis.AUTHORISED and actor.has(Permission.FAMILY_MANAGE) and data.evidence.strip():
            registry.get_patient(session, actor, data.patient_id, reason="登记云伴诊代理授权")
            return
        raise Forbidden("代为授权须由监护人或授权亲属本人办理")
    role = _verified_relation(session, data.patient_id, actor.patient_id)
    if data.basis is Basis.GUARDIAN:
        if role not in GUARDIAN_ROLES:
            raise InvalidFollow("只有父母或监护人可以为未成年人授权")
        if not is_minor(patient.birth_date, business_date()):
            raise InvalidFollow("患者已成年，须由本人授权")
        return
    if not data.evidence.strip():  # AUTHORISED
        raise InvalidFollow("代理授权须登记患者无行为能力的依据（如诊断证明、法院文书）")


def _visit(session: Session, data: FollowCreate) -> tuple[datetime | None, int | None]:
    """Check the visit is the patient's; return its default expiry and its clinic queue."""
    if data.visit_kind is VisitKind.BOOKING:
        try:
            b = scheduling.find_booking(session, data.visit_id)
        except NotFound:
            raise InvalidFollow("就诊记录不存在") from None
        if b.patient_id != data.patient_id:
            raise InvalidFollow("该就诊不是本患者的")
        if b.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED):
            raise InvalidFollow("该挂号已取消或失效")
        return local_datetime(b.day + timedelta(days=1), time(0)), b.schedule_id
    try:
        a = inpatient.find_admission(session, data.visit_id)
    except NotFound:
        raise InvalidFollow("住院记录不存在") from None
    if a.patient_id != data.patient_id:
        raise InvalidFollow("该住院不是本患者的")
    discharged = _aware(a.discharged_at)
    return (discharged + timedelta(days=DISCHARGE_GRACE_DAYS) if discharged else None), None


def grant(session: Session, actor: Actor, data: FollowCreate) -> Follow:
    """Invite a verified relative to follow one visit with the chosen scopes (nothing stored on refusal)."""
    _check_basis(session, actor, data)  # who may grant for this patient, before anything about the input
    if data.patient_id == data.relative_id:
        raise InvalidFollow("不能邀请本人")
    if not (data.progress or data.results or data.bills):
        raise InvalidFollow("请至少选择一项可见内容")
    role = _verified_relation(session, data.patient_id, data.relative_id)
    default_expiry, schedule_id = _visit(session, data)
    now = utcnow()
    expires = _aware(data.expires_at) or default_expiry
    if expires is not None and expires <= now:
        raise InvalidFollow("授权截止时间必须晚于现在（该就诊已结束）")
    kind = data.visit_kind.value
    if repo.live_follow_of(session, relative_id=data.relative_id, kind=kind, visit_id=data.visit_id, at=now):
        raise InvalidFollow("已邀请该亲属陪诊本次就诊；如需修改请先撤销")
    follow = Follow(
        patient_id=data.patient_id,
        relative_id=data.relative_id,
        relation_id=_relation_id(session, data.patient_id, data.relative_id),
        relative_role=role,
        visit_kind=kind,
        visit_id=data.visit_id,
        schedule_id=schedule_id,
        progress=data.progress,
        results=data.results,
        bills=data.bills,
        basis=data.basis.value,
        evidence=data.evidence.strip(),
        granted_by=actor.username[:64],
        granted_at=now,
        expires_at=expires,
    )
    session.add(follow)
    session.flush()
    record_access(
        session,
        actor,
        action="create",
        resource=f"companion/follows/{follow.id}",
        patient_id=data.patient_id,
        reason=f"授权云伴诊（{data.basis.label}）：{scope_labels(follow)}",
    )
    return follow


def _relation_id(session: Session, patient_id: int, relative_id: int) -> int:
    return next(r.id for r in registry.relation_reads(session, patient_id) if r.relative_id == relative_id)


def find_follow(session: Session, follow_id: int) -> Follow:
    """Return a follow by id, unchecked (for code that has checked access already)."""
    f = session.get(Follow, follow_id)
    if f is None:
        raise FollowNotFound()
    return f


def _may_manage(session: Session, actor: Actor, f: Follow) -> None:
    if actor.role in (Role.PATIENT, Role.FAMILY):
        if actor.patient_id == f.patient_id:
            return
        if actor.patient_id is not None and f.basis != Basis.SELF.value:
            try:  # the guardian or authorised relative who may grant may also revoke
                _verified_relation(session, f.patient_id, actor.patient_id)
                return
            except InvalidFollow:
                pass
        raise NotYourFollow("只有患者本人（或其监护人）可以管理云伴诊授权")
    if not actor.has(Permission.FAMILY_MANAGE):
        raise NotYourFollow()
    registry.get_patient(session, actor, f.patient_id, reason="管理云伴诊授权")


def revoke(session: Session, actor: Actor, follow_id: int) -> Follow:
    """Revoke at once: the next event is not delivered and open streams stop with the reason."""
    f = find_follow(session, follow_id)
    _may_manage(session, actor, f)
    if f.revoked_at is None:
        f.revoked_at = utcnow()
        session.flush()
        record_access(
            session,
            actor,
            action="update",
            resource=f"companion/follows/{f.id}",
            patient_id=f.patient_id,
            reason="撤销云伴诊授权",
        )
        _pending(session).append(("end", f.id, 0, EndReason.REVOKED.value))
    return f


def follows_of_patient(session: Session, actor: Actor, patient_id: int) -> list[Follow]:
    """Who follows the patient's visits (the patient's own view, or her guardian's)."""
    if actor.role in (Role.PATIENT, Role.FAMILY) and actor.patient_id != patient_id:
        if actor.patient_id is None:
            raise Forbidden("无权查看")
        try:
            _verified_relation(session, patient_id, actor.patient_id)
        except InvalidFollow as exc:  # not her verified family: not theirs to see
            raise Forbidden("无权查看该患者的云伴诊授权") from exc
    elif actor.role not in (Role.PATIENT, Role.FAMILY):
        registry.get_patient(session, actor, patient_id, reason="查看云伴诊授权")
    return list(repo.follows_of_patient(session, patient_id))


def follows_of_relative(session: Session, actor: Actor) -> list[Follow]:
    """The visits the logged-in relative is invited to follow."""
    if actor.patient_id is None:
        return []
    return list(repo.follows_of_relative(session, actor.patient_id))


# ---------------------------------------------------------------- the feed


@dataclass(frozen=True)
class FeedView:
    follow: Follow
    items: list[FeedItem]
    ended: EndReason | None


def open_feed(
    session: Session, actor: Actor, follow_id: int, *, after_id: int = 0, channel: str = "api"
) -> FeedView:
    """The relative (or the patient, to see what was shown) reads a feed; one access-audit row per view."""
    f = find_follow(session, follow_id)
    if actor.patient_id not in (f.relative_id, f.patient_id) or actor.role not in (Role.PATIENT, Role.FAMILY):
        raise NotYourFollow()
    ended = end_reason(f)
    if actor.patient_id == f.relative_id and f.revoked_at is not None:
        items: list[FeedItem] = []  # a revoked consent shows nothing more, not even the history
    else:
        items = list(repo.items_after(session, f.id, after_id))
    record_access(
        session,
        actor,
        action="read",
        resource=f"companion/follows/{f.id}/feed",
        patient_id=f.patient_id,
        reason=f"云伴诊查看：{scope_labels(f)}",
        channel=channel,
    )
    return FeedView(f, items, ended)


def poll(session: Session, follow_id: int, after_id: int) -> FeedView:
    """What a stream sends next: lines after ``after_id`` while the follow is live (no audit: the stream's
    opening wrote it)."""
    f = session.get(Follow, follow_id)
    if f is None:
        raise FollowNotFound()
    ended = end_reason(f)
    items = [] if ended is EndReason.REVOKED else list(repo.items_after(session, f.id, after_id))
    return FeedView(f, items, ended)


TOPIC_AREAS = ("scheduling", "outpatient", "results", "billing", "inpatient")


def _names(session: Session, patient_ids: set[int], names: dict[int, tuple[str, str]]) -> None:
    """Sex and name of these patients (one query each for all the batch's patients)."""
    missing = sorted(patient_ids - names.keys())
    if missing:
        sexes = registry.patient_sexes(session, missing)
        for pid, name in registry.patient_names(session, missing).items():
            names[pid] = (sexes.get(pid, ""), name)


def _who(session: Session, f: Follow, names: dict[int, tuple[str, str]]) -> str:
    if f.patient_id not in names:
        p = registry.find_patient(session, f.patient_id)
        names[f.patient_id] = (p.sex, p.name)
    sex, name = names[f.patient_id]
    return salutation(f.relative_role, sex, name)


def _patients_of(session: Session, item: events.Event) -> list[int] | None:
    """The patients an event is about (None: an admission's event, found by its visit)."""
    p = item.payload
    ids = patient_ids_of(p)
    if not ids and p.get("admission_id") is not None:
        return None
    if not ids and p.get("encounter_id") is not None:
        try:
            ids = [outpatient.find_encounter(session, int(p["encounter_id"])).patient_id]
        except NotFound:
            return []
    return ids


def on_event(session: Session, item: events.Event) -> None:
    """Turn one outbox event into feed lines (see :func:`on_events`)."""
    on_events(session, [item])


def on_events(session: Session, batch: list[events.Event]) -> None:
    """Turn a dispatch batch of outbox events into feed lines for the live follows they concern
    (idempotent: a redelivered event adds no line).

    Set-based: one query for the live follows of all the batch's patients, one for the lines already
    stored, one for the patients' names, one insert — not a round trip per event or per follower. Each
    sentence is rendered once per (event, how the relative calls the patient) and shared by every
    follower it reaches. Lines are made in event order, so line ids follow the order of events."""
    batch = [i for i in batch if i.topic.split(".", 1)[0] in TOPIC_AREAS]
    if not batch:
        return
    now = utcnow()
    about = {i.id: _patients_of(session, i) for i in batch}
    wanted = sorted({pid for ids in about.values() if ids for pid in ids})
    by_patient: dict[int, list[Follow]] = defaultdict(list)
    for f in repo.live_follows_of_patients(session, wanted, now):
        by_patient[f.patient_id].append(f)
    todo: list[tuple[events.Event, Follow, dict[str, Any]]] = []
    for item in batch:
        ids = about[item.id]
        if ids is None:
            follows = list(
                repo.follows_of_visit(session, VisitKind.ADMISSION.value, int(item.payload["admission_id"]))
            )
        else:
            seen: set[int] = set()
            follows = []
            for pid in ids:
                for f in by_patient.get(pid, ()):
                    if f.id not in seen:
                        seen.add(f.id)
                        follows.append(f)
            follows.sort(key=lambda f: f.id)
        if item.topic == "inpatient.discharged":
            for f in follows:  # the consent ends 7 days after discharge
                if f.expires_at is None:
                    f.expires_at = now + timedelta(days=DISCHARGE_GRACE_DAYS)
        if item.topic == "scheduling.queue_changed" and item.payload.get("kind") in ("called", "skipped"):
            sched = int(item.payload.get("schedule_id") or 0)
            mine = {f.id for f in follows}
            for f in repo.live_follows_of_schedule(session, sched, now):
                if f.id not in mine and f.patient_id not in patient_ids_of(item.payload):
                    todo.append((item, f, {"kind": "ahead"}))
        todo += [(item, f, item.payload) for f in follows]
    if not todo:
        return
    done = repo.items_of_events(
        session, sorted({i.id for i, _f, _p in todo}), sorted({f.id for _i, f, _p in todo})
    )
    names: dict[int, tuple[str, str]] = {}
    _names(session, {f.patient_id for _i, f, _p in todo}, names)
    rendered: dict[tuple[int, str, str | None, int | None], Line | None] = {}
    rows = []
    for item, f, payload in todo:
        if (f.id, item.id) not in done:
            row = _line(session, f, item, payload, names, now, rendered)
            if row is not None:
                done.add((f.id, item.id))
                rows.append(row)
    if not rows:
        return
    session.add_all(rows)
    session.flush()
    _pending(session).extend(("item", row.follow_id, row.id, line_message(row)) for row in rows)


def _line(
    session: Session,
    f: Follow,
    item: events.Event,
    payload: dict[str, Any],
    names: dict[int, tuple[str, str]],
    now: datetime,
    rendered: dict[tuple[int, str, str | None, int | None], Line | None] | None = None,
) -> FeedItem | None:
    """The follow's line for the event, if its consent is live and its scopes include it."""
    if end_reason(f, now) is not None or _aware(f.granted_at) > _aware(item.created_at):  # type: ignore[operator]
        return None
    ahead = None
    if f.visit_kind == VisitKind.BOOKING.value and item.topic == "scheduling.queue_changed":
        place = scheduling.queue_place(session, f.visit_id)
        if place is None or place.calling:
            if payload.get("kind") == "ahead":
                return None
        else:
            ahead = place.ahead
    who = _who(session, f, names)
    key = (item.id, who, payload.get("kind"), ahead)
    if rendered is not None and key in rendered:
        line = rendered[key]
    else:
        line = render(item.topic, payload, who, ahead=ahead)
        if rendered is not None:
            rendered[key] = line
    if line is None or line.scope not in scopes_of(f):
        return None
    return FeedItem(
        follow_id=f.id,
        event_id=item.id,
        topic=item.topic,
        scope=line.scope.value,
        text=line.text,
        created_at=now,
    )


events.subscribe_batch("*")(on_events)


def item_dict(row: FeedItem) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "scope": row.scope,
        "text": row.text,
        "created_at": (_aware(row.created_at) or row.created_at).isoformat(),
    }


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    """One Server-Sent Events message, encoded (a line is encoded once, where it is published)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def line_message(row: FeedItem) -> bytes:
    return sse("line", item_dict(row), row.id)


# ---------------------------------------------------------------- live delivery in this process

# What a stream's queue receives: ("item", line id, encoded SSE bytes) or ("end", 0, reason value), or
# ("gone", 0, None) when the client disconnected.
Message = tuple[str, int, Any]


def _pending(session: Session) -> list[tuple[str, int, int, Any]]:
    return session.info.setdefault("companion_publish", [])  # type: ignore[no-any-return]


class Bus:
    """Hands committed feed lines and stream endings to the open streams of this process (other
    processes' lines reach them through the :class:`Watcher`). Publishing is batched: one wake-up of
    each event loop per batch of messages, not one per follower."""

    RECENT = 50_000  # line ids remembered as published, so the watcher does not publish them again

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[int, list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Message]]]] = defaultdict(
            list
        )
        self._recent: dict[int, None] = {}

    def subscribe(self, follow_id: int) -> asyncio.Queue[Message]:
        q: asyncio.Queue[Message] = asyncio.Queue()
        with self._lock:
            self._subs[follow_id].append((asyncio.get_running_loop(), q))
        return q

    def unsubscribe(self, follow_id: int, q: asyncio.Queue[Message]) -> None:
        with self._lock:
            self._subs[follow_id] = [s for s in self._subs[follow_id] if s[1] is not q]
            if not self._subs[follow_id]:
                del self._subs[follow_id]

    def followed(self) -> list[int]:
        """The follows with an open stream in this process."""
        with self._lock:
            return list(self._subs)

    def published(self, line_id: int) -> bool:
        with self._lock:
            return line_id in self._recent

    def publish(self, kind: str, follow_id: int, data: Any, line_id: int = 0) -> None:
        self.publish_many([(kind, follow_id, line_id, data)])

    def publish_many(self, messages: list[tuple[str, int, int, Any]]) -> None:
        """Hand (kind, follow id, line id, data) messages to the streams of those follows."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Queue[Message], Message]]] = defaultdict(
            list
        )
        with self._lock:
            for kind, follow_id, line_id, data in messages:
                if line_id:
                    self._recent[line_id] = None
                for loop, q in self._subs.get(follow_id, ()):
                    by_loop[loop].append((q, (kind, line_id, data)))
            while len(self._recent) > self.RECENT:
                del self._recent[next(iter(self._recent))]
        for loop, todo in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, todo)
            except RuntimeError:  # the streams' loop is gone
                pass


def _deliver(todo: list[tuple[asyncio.Queue[Message], Message]]) -> None:
    for q, message in todo:
        q.put_nowait(message)


bus = Bus()


class Watcher:
    """One per worker process: every ``interval`` seconds, one query for the lines made lately (by any
    worker's dispatcher) and one per 1,000 open follows for consents that ended (revoked, expired),
    handed to this process's streams through the bus — instead of a database read per stream per
    interval (1,000 streams were 500 reads a second in one worker). Lines this process already
    published are skipped; streams also drop lines they already sent (by line id)."""

    LOOK_BACK = 1000  # re-read the last line ids too: a transaction that drew its id earlier may commit later
    CHUNK = 1000  # follow ids per IN list

    def __init__(self, bus: Bus, interval: float = 2.0) -> None:
        self.bus, self.interval = bus, interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._high: int | None = None

    def ensure_running(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="companion-watch", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        from yilian.kit.db import unit_of_work

        while True:
            clock_time.sleep(self.interval)
            ids = self.bus.followed()
            if not ids:
                continue
            try:
                with unit_of_work() as session:
                    self.look(session, ids)
            except Exception:  # the next look tries again; streams keep their in-process lines meanwhile
                log.exception("companion watcher failed")

    def look(self, session: Session, follow_ids: list[int]) -> None:
        """Publish lines after the high-water mark (less the look-back) and the ends of these follows."""
        if self._high is None:
            self._high = repo.max_item_id(session)
        floor = max(self._high - self.LOOK_BACK, 0)
        now = utcnow()
        open_ids = set(follow_ids)
        messages: list[tuple[str, int, int, Any]] = []
        for row in repo.items_after_id(session, floor):
            self._high = max(self._high, row.id)
            if row.follow_id in open_ids and not self.bus.published(row.id):
                messages.append(("item", row.follow_id, row.id, line_message(row)))
        for i in range(0, len(follow_ids), self.CHUNK):
            for f in repo.ended_follows(session, follow_ids[i : i + self.CHUNK], now):
                reason = end_reason(f, now)
                if reason is not None:
                    messages.append(("end", f.id, 0, reason.value))
        if messages:
            self.bus.publish_many(messages)


watcher = Watcher(bus)


@sa_event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    messages = session.info.pop("companion_publish", None)
    if messages:
        bus.publish_many(messages)


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop("companion_publish", None)


# ---------------------------------------------------------------- what the invite page offers


@dataclass(frozen=True)
class Choice:
    value: int
    label: str


def invitable(
    session: Session, actor: Actor, patient_id: int
) -> tuple[list[Choice], list[Choice], list[Choice]]:
    """The patient's open visits (bookings, admissions) and her verified relatives, for the invite page."""
    today = business_date()
    bookings = [
        Choice(v.booking.id, f"{v.booking.day:%m月%d日} {v.schedule.location or '门诊'} 挂号")
        for v in sorted(scheduling.patient_bookings(session, actor, patient_id), key=lambda v: v.booking.day)
        if v.booking.status in (BookingStatus.HELD, BookingStatus.CONFIRMED) and v.booking.day >= today
    ]  # the nearest visit first
    admissions = [
        Choice(a.id, f"{a.admitted_at:%m月%d日} 入院")
        for a in inpatient.my_admissions(session, actor, patient_id)
        if a.discharged_at is None
    ]
    relatives = [
        Choice(r.relative_id, f"{r.relative_name}（{r.relation_label}）")
        for r in registry.relation_reads(session, patient_id)
        if r.verification_state is VerificationState.VERIFIED
    ]
    return bookings, admissions, relatives


def names_of(session: Session, patient_ids: list[int]) -> dict[int, str]:
    return registry.patient_names(session, patient_ids)


def seen_by(session: Session, follow_id: int, limit: int = 50) -> list[FeedItem]:
    """What a follower was shown (the patient's view), newest last."""
    return list(repo.items_after(session, follow_id, 0, limit))


# ---------------------------------------------------------------- 亲情付: the relative pays the visit's bill


@dataclass(frozen=True)
class FamilyBill:
    """One of the patient's bills of today as the paying relative sees it (amounts in fen)."""

    encounter_id: int
    total: int
    cash: int  # what the relative pays (the cash part after insurance), estimated before settling
    settled: bool
    paid_by_relative: bool


@dataclass(frozen=True)
class FamilyPayment:
    """The settlement a relative's 亲情付 made, as billing returned it (amounts in fen)."""

    id: int
    encounter_id: int
    total: int
    fund: int
    personal_account: int
    mutual_aid: int
    cash: int
    cash_payer_id: int | None
    status: str


def _relatives_follow(session: Session, actor: Actor, follow_id: int) -> Follow:
    """The logged-in relative's own live follow with the 费用 scope (else refused with the reason)."""
    f = find_follow(session, follow_id)
    if actor.role not in (Role.PATIENT, Role.FAMILY) or actor.patient_id != f.relative_id:
        raise NotYourFollow("只有受邀的家属本人可以亲情付")
    ended = end_reason(f)
    if ended is not None:
        raise InvalidFollow(f"{ended.label}，不能再代付")
    if not f.bills:
        raise InvalidFollow("患者未授权您查看费用，不能亲情付")
    return f


def is_family_payer(session: Session, f: Follow) -> bool:
    """The relative may pay the patient's cash part: the 费用 scope here and the registry's 亲情付 consent."""
    if not f.bills or end_reason(f) is not None:
        return False
    return any(
        pid == f.relative_id for pid, _label in billing.payers_for(session, f.patient_id)["family_pay"]
    )


def family_bills(session: Session, actor: Actor, follow_id: int) -> list[FamilyBill]:
    """The patient's bills of today that the relative may pay (亲情付); empty without the 亲情付 consent."""
    f = _relatives_follow(session, actor, follow_id)
    if not is_family_payer(session, f):
        return []
    today = business_date()
    bills = []
    for encounter_id in billing.encounters_with_charges(session, f.patient_id, today):
        guess = billing.estimate(session, encounter_id, today)
        if guess is not None:  # open charges first, also those added after a settlement today
            bills.append(FamilyBill(encounter_id, guess.total, guess.cash, False, False))
            continue
        done = billing.settlement_of(session, encounter_id, today)
        if done is not None:
            bills.append(
                FamilyBill(encounter_id, done.total, done.cash, True, done.cash_payer_id == f.relative_id)
            )
    record_access(
        session,
        actor,
        action="read",
        resource=f"companion/follows/{f.id}/bills",
        patient_id=f.patient_id,
        reason="云伴诊查看费用（亲情付）",
    )
    return bills


def pay_as_family(
    session: Session,
    actor: Actor,
    follow_id: int,
    *,
    encounter_id: int,
    channel: Channel,
    idempotency_key: str,
) -> FamilyPayment:
    """亲情付: the relative settles the patient's bill of today through billing, paying its cash part
    (billing checks the patient's 亲情付 consent; a retry with the same key pays once)."""
    f = _relatives_follow(session, actor, follow_id)
    if not is_family_payer(session, f):
        raise InvalidFollow("患者未授权您亲情付（请患者在家庭关系中开通亲情付）")
    try:
        encounter = outpatient.find_encounter(session, encounter_id)
    except NotFound:
        raise InvalidFollow("就诊记录不存在") from None
    if encounter.patient_id != f.patient_id:
        raise InvalidFollow("该就诊不是本患者的")
    done = billing.settle(
        session,
        encounter_id=encounter_id,
        day=business_date(),
        channel=channel,
        idempotency_key=idempotency_key,
        cash_payer_id=f.relative_id,
        payer_ref=f"亲情付-{actor.username}"[:64],
    )
    record_access(
        session,
        actor,
        action="create",
        resource=f"companion/follows/{f.id}/family-pay",
        patient_id=f.patient_id,
        reason=f"亲情付：就诊 {encounter_id}",
    )
    return FamilyPayment(
        id=done.id,
        encounter_id=done.encounter_id,
        total=done.total,
        fund=done.fund,
        personal_account=done.personal_account,
        mutual_aid=done.mutual_aid,
        cash=done.cash,
        cash_payer_id=done.cash_payer_id,
        status=done.status,
    )
