"""HTTP API of scheduling under /api/v1/scheduling."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from yilian.kit.auth.deps import CurrentActor, SessionDep, TransactionalRoute, get_actor, require
from yilian.kit.auth.domain import Actor, Permission
from yilian.scheduling import repository as repo
from yilian.scheduling import service
from yilian.scheduling.schemas import (
    BookingCreate,
    BookingRead,
    CheckInBody,
    ConfirmBody,
    GenerateBody,
    KioskBookingRead,
    KioskLookup,
    PolicyBody,
    QueueEntryRead,
    QueuePlaceRead,
    ReturnVisitBody,
    ScheduleCreate,
    ScheduleDetail,
    ScheduleRead,
    SlotRead,
    StopBody,
    TemplateBody,
    TemplateRead,
)

router = APIRouter(prefix="/api/v1/scheduling", tags=["排班与预约挂号"], route_class=TransactionalRoute)

Reader = Annotated[Actor, require(Permission.SCHEDULE_READ)]
Manager = Annotated[Actor, require(Permission.SCHEDULE_MANAGE)]
Desk = Annotated[Actor, require(Permission.REGISTRATION_DESK)]
Caller = Annotated[Actor, require(Permission.QUEUE_CALL)]
Kiosk = Annotated[Actor, require(Permission.KIOSK_CHECK_IN)]


@router.get("/policies/{institution_id}", summary="机构排班与预约策略")
def get_policy(session: SessionDep, _actor: Reader, institution_id: int) -> dict[str, Any]:
    return service.get_policy(session, institution_id).to_dict()


@router.patch("/policies/{institution_id}", summary="修改机构策略")
def set_policy(session: SessionDep, actor: Manager, institution_id: int, body: PolicyBody) -> dict[str, Any]:
    return service.set_policy(session, actor, institution_id, body.changes).to_dict()


@router.get("/institutions/{institution_id}/templates", response_model=list[TemplateRead], summary="排班模板")
def templates(session: SessionDep, _actor: Reader, institution_id: int) -> list[TemplateRead]:
    return [TemplateRead.model_validate(t) for t in service.list_templates(session, institution_id)]


@router.put(
    "/templates", response_model=TemplateRead, summary="新增或修改排班模板（按科室、医生、星期、时段）"
)
def save_template(session: SessionDep, actor: Manager, body: TemplateBody) -> TemplateRead:
    return TemplateRead.model_validate(service.save_template(session, actor, **body.model_dump()))


@router.delete("/templates/{template_id}", status_code=204, summary="删除排班模板")
def delete_template(session: SessionDep, actor: Manager, template_id: int) -> None:
    service.delete_template(session, actor, template_id)


@router.post("/institutions/{institution_id}/generate", summary="按模板生成排班（按中国节假日与调休）")
def generate(session: SessionDep, actor: Manager, institution_id: int, body: GenerateBody) -> dict[str, int]:
    return {
        "created": service.generate_schedules(
            session, actor, institution_id, start=body.start, days=body.days
        )
    }


@router.get("/payment-methods", summary="挂号费缴费方式")
def payment_methods(_actor: Reader) -> dict[str, str]:
    return service.payment_methods()


@router.get("/indicators", summary="预约挂号与一号管三天指标（复诊人次、减免诊察费）")
def indicators(
    session: SessionDep, _actor: Reader, institution_id: int, start: date, end: date
) -> dict[str, int]:
    result = service.indicators(session, institution_id, start, end)
    return {
        **asdict(result),
        "online_permille": result.online_permille,
        "no_show_permille": result.no_show_permille,
    }


@router.get("/schedules", response_model=list[ScheduleRead], summary="排班查询")
def schedules(
    session: SessionDep,
    _actor: Reader,
    institution_id: int | None = None,
    department_id: int | None = None,
    practitioner_id: int | None = None,
    day: date | None = None,
) -> list[ScheduleRead]:
    rows = repo.schedules(
        session,
        institution_id=institution_id,
        department_id=department_id,
        practitioner_id=practitioner_id,
        day=day,
    )
    return [ScheduleRead.model_validate(r) for r in rows]


@router.post("/schedules", response_model=ScheduleRead, status_code=201, summary="新建排班（按时段切分号源）")
def create_schedule(session: SessionDep, actor: Manager, body: ScheduleCreate) -> ScheduleRead:
    return ScheduleRead.model_validate(service.create_schedule(session, actor, **body.model_dump()))


@router.get("/schedules/{schedule_id}", response_model=ScheduleDetail, summary="排班详情与号源")
def schedule_detail(session: SessionDep, _actor: Reader, schedule_id: int) -> ScheduleDetail:
    sched = service.get_schedule(session, schedule_id)
    slots = [SlotRead.model_validate(s) for s in repo.slots_of(session, schedule_id)]
    return ScheduleDetail(**ScheduleRead.model_validate(sched).model_dump(), slots=slots)


@router.post("/schedules/{schedule_id}/stop", summary="停诊（取消预约、退费待办、通知患者）")
def stop(session: SessionDep, actor: Manager, schedule_id: int, body: StopBody) -> dict[str, int]:
    return {"cancelled": service.stop_clinic(session, actor, schedule_id, body.reason)}


@router.post("/bookings", response_model=BookingRead, status_code=201, summary="预约（锁号）")
def book(
    request: Request,
    session: SessionDep,
    body: BookingCreate,
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
) -> BookingRead:
    # The actor is resolved here rather than through the CurrentActor dependency, and the transaction
    # is committed here: the whole booking then runs in one worker-thread hop. With the dependency, a
    # connection is taken in one hop and the endpoint waits for another; under a 200-client rush every
    # pooled connection ends up held by a request queued for a thread, while the threads wait for the
    # slot row lock or a connection (see docs/scheduling.md).
    actor = get_actor(request, session)
    b = service.book(
        session,
        actor,
        slot_id=body.slot_id,
        patient_id=body.patient_id,
        channel=body.channel,
        idempotency_key=idempotency_key,
    )
    out = BookingRead.model_validate(b)
    session.commit()
    return out


@router.get("/bookings/{booking_id}", response_model=BookingRead, summary="预约详情")
def booking(session: SessionDep, actor: CurrentActor, booking_id: int) -> BookingRead:
    return BookingRead.model_validate(service.get_booking(session, actor, booking_id))


@router.post("/bookings/{booking_id}/confirm", response_model=BookingRead, summary="确认并缴挂号费 → 挂号")
def confirm(session: SessionDep, actor: CurrentActor, booking_id: int, body: ConfirmBody) -> BookingRead:
    return BookingRead.model_validate(
        service.confirm(session, actor, booking_id, payment_method=body.payment_method)
    )


@router.post("/bookings/{booking_id}/cancel", response_model=BookingRead, summary="取消预约")
def cancel(session: SessionDep, actor: CurrentActor, booking_id: int) -> BookingRead:
    return BookingRead.model_validate(service.cancel(session, actor, booking_id))


@router.post(
    "/bookings/{booking_id}/check-in", response_model=QueueEntryRead, summary="签到候诊（挂号处或患者自助）"
)
def check_in(session: SessionDep, actor: CurrentActor, booking_id: int, body: CheckInBody) -> QueueEntryRead:
    return QueueEntryRead.model_validate(service.check_in(session, actor, booking_id, groups=body.groups))


@router.post("/bookings/{booking_id}/return-visit", response_model=QueueEntryRead, summary="一号管三天复诊")
def return_visit(session: SessionDep, actor: Desk, booking_id: int, body: ReturnVisitBody) -> QueueEntryRead:
    return QueueEntryRead.model_validate(
        service.return_visit(session, actor, booking_id, schedule_id=body.schedule_id)
    )


@router.get("/schedules/{schedule_id}/queue", response_model=list[QueueEntryRead], summary="候诊队列")
def queue(session: SessionDep, _actor: Caller, schedule_id: int) -> list[QueueEntryRead]:
    return [QueueEntryRead.model_validate(e) for e in service.queue(session, schedule_id)]


@router.post("/schedules/{schedule_id}/call-next", response_model=QueueEntryRead, summary="叫下一位")
def call_next(session: SessionDep, actor: Caller, schedule_id: int) -> QueueEntryRead:
    return QueueEntryRead.model_validate(service.call_next(session, actor, schedule_id))


@router.post("/queue/{entry_id}/recall", response_model=QueueEntryRead, summary="重呼")
def recall(session: SessionDep, actor: Caller, entry_id: int) -> QueueEntryRead:
    return QueueEntryRead.model_validate(service.recall(session, actor, entry_id))


@router.post("/queue/{entry_id}/skip", response_model=QueueEntryRead, summary="过号")
def skip(session: SessionDep, actor: Caller, entry_id: int) -> QueueEntryRead:
    return QueueEntryRead.model_validate(service.skip(session, actor, entry_id))


@router.get(
    "/patients/{patient_id}/bookings",
    response_model=list[BookingRead],
    summary="患者的预约与挂号（最近在前）",
)
def patient_bookings(session: SessionDep, actor: CurrentActor, patient_id: int) -> list[BookingRead]:
    return [
        BookingRead.model_validate(v.booking) for v in service.patient_bookings(session, actor, patient_id)
    ]


@router.get(
    "/bookings/{booking_id}/queue-place",
    response_model=QueuePlaceRead | None,
    summary="今日候诊位置（前面还有几人 / 正在叫号）",
)
def queue_place(session: SessionDep, actor: CurrentActor, booking_id: int) -> QueuePlaceRead | None:
    service.get_booking(session, actor, booking_id)  # the patient's own, or staff: access-checked
    place = service.queue_place(session, booking_id)
    return QueuePlaceRead.model_validate(place) if place else None


@router.post("/kiosk/lookup", response_model=list[KioskBookingRead], summary="自助机：按身份证号查今日挂号")
def kiosk_lookup(session: SessionDep, actor: Kiosk, body: KioskLookup) -> list[KioskBookingRead]:
    return [
        KioskBookingRead.model_validate(k) for k in service.kiosk_bookings(session, actor, body.id_number)
    ]
