"""HTTP API of scheduling under /api/v1/scheduling."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import Header, Path, Request, Response

from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep, get_actor, require
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.bounds import DayQuery, IdPath, IdQuery, OptionalDayQuery, OptionalIdQuery
from yilian.kit.responses import FastJSONResponse
from yilian.scheduling import service
from yilian.scheduling.schemas import (
    BookingCreate,
    BookingRead,
    CalendarDayBody,
    CalendarDayRead,
    CalendarDaySaved,
    CalendarYearBody,
    CalendarYearDetail,
    CalendarYearRead,
    CheckInBody,
    ConfirmBody,
    GenerateBody,
    GenerateRead,
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

router = AreaRouter(prefix="/api/v1/scheduling", tags=["排班与预约挂号"])

Reader = Annotated[Actor, require(Permission.SCHEDULE_READ)]
Manager = Annotated[Actor, require(Permission.SCHEDULE_MANAGE)]
Desk = Annotated[Actor, require(Permission.REGISTRATION_DESK)]
Caller = Annotated[Actor, require(Permission.QUEUE_CALL)]
Kiosk = Annotated[Actor, require(Permission.KIOSK_CHECK_IN)]


@router.get("/policies/{institution_id}", summary="机构排班与预约策略")
def get_policy(session: SessionDep, _actor: Reader, institution_id: IdPath) -> dict[str, Any]:
    return service.institution_policy(session, institution_id).to_dict()


@router.patch("/policies/{institution_id}", summary="修改机构策略")
def set_policy(
    session: SessionDep, actor: Manager, institution_id: IdPath, body: PolicyBody
) -> dict[str, Any]:
    return service.set_policy(session, actor, institution_id, body.changes).to_dict()


@router.get("/institutions/{institution_id}/templates", response_model=list[TemplateRead], summary="排班模板")
def templates(session: SessionDep, _actor: Reader, institution_id: IdPath) -> list[TemplateRead]:
    return [TemplateRead.model_validate(t) for t in service.list_templates(session, institution_id)]


@router.put(
    "/templates", response_model=TemplateRead, summary="新增或修改排班模板（按科室、医生、星期、时段）"
)
def save_template(session: SessionDep, actor: Manager, body: TemplateBody) -> TemplateRead:
    return TemplateRead.model_validate(service.save_template(session, actor, **body.model_dump()))


@router.delete("/templates/{template_id}", status_code=204, summary="删除排班模板")
def delete_template(session: SessionDep, actor: Manager, template_id: IdPath) -> None:
    service.delete_template(session, actor, template_id)


@router.post(
    "/institutions/{institution_id}/generate",
    response_model=GenerateRead,
    summary="按模板生成排班（按节假日日历；未录入的年份按周末处理并给出提示）",
)
def generate(session: SessionDep, actor: Manager, institution_id: IdPath, body: GenerateBody) -> GenerateRead:
    result = service.generate_schedules(session, actor, institution_id, start=body.start, days=body.days)
    return GenerateRead(
        created=result.created, missing_years=list(result.missing_years), warning=result.warning
    )


# ---- holiday calendar (节假日日历): shared by every institution; read by staff, kept by the admin
Year = Annotated[int, Path(ge=service.CALENDAR_YEARS[0], le=service.CALENDAR_YEARS[1])]


@router.get("/calendar", response_model=list[CalendarYearRead], summary="节假日日历：各年份录入情况")
def calendar_years(session: SessionDep, _actor: Reader) -> list[CalendarYearRead]:
    return [
        CalendarYearRead.model_validate({**asdict(y), "warning": y.warning})
        for y in service.calendar_overview(session)
    ]


@router.get(
    "/calendar/{year}", response_model=CalendarYearDetail, summary="节假日日历：某年的法定节假日与调休上班日"
)
def calendar_year(session: SessionDep, _actor: Reader, year: Year) -> CalendarYearDetail:
    info = service.calendar_year_info(session, year)
    days = [CalendarDayRead.model_validate(d) for d in service.calendar_days(session, year)]
    return CalendarYearDetail.model_validate({**asdict(info), "warning": info.warning, "days": days})


@router.put("/calendar/{year}", response_model=CalendarYearRead, summary="标记某年安排已录入完整（或未完整）")
def calendar_year_complete(
    session: SessionDep, actor: Manager, year: Year, body: CalendarYearBody
) -> CalendarYearRead:
    info = service.set_calendar_year_complete(session, actor, year, body.complete)
    return CalendarYearRead.model_validate({**asdict(info), "warning": info.warning})


@router.put("/calendar/days/{day}", response_model=CalendarDaySaved, summary="录入法定节假日或调休上班日")
def calendar_set_day(
    session: SessionDep, actor: Manager, day: date, body: CalendarDayBody
) -> CalendarDaySaved:
    row = service.set_calendar_day(session, actor, day=day, kind=body.kind, name=body.name)
    return CalendarDaySaved.model_validate(
        {
            **CalendarDayRead.model_validate(row).model_dump(),
            "schedules_on_day": service.open_schedules_on(session, day),
        }
    )


@router.delete("/calendar/days/{day}", status_code=204, summary="删除法定节假日或调休上班日")
def calendar_remove_day(session: SessionDep, actor: Manager, day: date) -> None:
    service.remove_calendar_day(session, actor, day)


@router.get("/payment-methods", summary="挂号费缴费方式")
def payment_methods(_actor: Reader) -> dict[str, str]:
    return service.payment_methods()


@router.get("/indicators", summary="预约挂号与一号管三天指标（复诊人次、减免诊察费）")
def indicators(
    session: SessionDep, actor: Reader, institution_id: IdQuery, start: DayQuery, end: DayQuery
) -> dict[str, int]:
    service.check_institution(actor, institution_id, Permission.SCHEDULE_READ)
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
    institution_id: OptionalIdQuery = None,
    department_id: OptionalIdQuery = None,
    practitioner_id: OptionalIdQuery = None,
    day: OptionalDayQuery = None,
) -> list[ScheduleRead]:
    rows = service.find_schedules(
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
def schedule_detail(session: SessionDep, _actor: Reader, schedule_id: IdPath) -> ScheduleDetail:
    sched = service.get_schedule(session, schedule_id)
    slots = [SlotRead.model_validate(s) for s in service.slots(session, schedule_id)]
    return ScheduleDetail(**ScheduleRead.model_validate(sched).model_dump(), slots=slots)


@router.post("/schedules/{schedule_id}/stop", summary="停诊（取消预约、退费待办、通知患者）")
def stop(session: SessionDep, actor: Manager, schedule_id: IdPath, body: StopBody) -> dict[str, int]:
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
    b = service.book_once(
        session,
        actor,
        slot_id=body.slot_id,
        patient_id=body.patient_id,
        channel=body.channel,
        idempotency_key=idempotency_key,
    )
    return BookingRead.model_validate(b)


@router.get("/bookings/{booking_id}", response_model=BookingRead, summary="预约详情")
def booking(session: SessionDep, actor: CurrentActor, booking_id: IdPath) -> BookingRead:
    return BookingRead.model_validate(service.get_booking(session, actor, booking_id))


@router.post("/bookings/{booking_id}/confirm", response_model=BookingRead, summary="确认并缴挂号费 → 挂号")
def confirm(session: SessionDep, actor: CurrentActor, booking_id: IdPath, body: ConfirmBody) -> BookingRead:
    return BookingRead.model_validate(
        service.confirm(session, actor, booking_id, payment_method=body.payment_method)
    )


@router.post("/bookings/{booking_id}/cancel", response_model=BookingRead, summary="取消预约")
def cancel(session: SessionDep, actor: CurrentActor, booking_id: IdPath) -> BookingRead:
    return BookingRead.model_validate(service.cancel(session, actor, booking_id))


@router.post(
    "/bookings/{booking_id}/check-in", response_model=QueueEntryRead, summary="签到候诊（挂号处或患者自助）"
)
def check_in(
    session: SessionDep, actor: CurrentActor, booking_id: IdPath, body: CheckInBody
) -> QueueEntryRead:
    return QueueEntryRead.model_validate(service.check_in(session, actor, booking_id, groups=body.groups))


@router.post("/bookings/{booking_id}/return-visit", response_model=QueueEntryRead, summary="一号管三天复诊")
def return_visit(
    session: SessionDep, actor: Desk, booking_id: IdPath, body: ReturnVisitBody
) -> QueueEntryRead:
    return QueueEntryRead.model_validate(
        service.return_visit(session, actor, booking_id, schedule_id=body.schedule_id)
    )


@router.get("/schedules/{schedule_id}/queue", response_model=list[QueueEntryRead], summary="候诊队列")
def queue(session: SessionDep, actor: Caller, schedule_id: IdPath) -> list[QueueEntryRead]:
    return [QueueEntryRead.model_validate(e) for e in service.queue(session, actor, schedule_id)]


@router.post("/schedules/{schedule_id}/call-next", response_model=QueueEntryRead, summary="叫下一位")
def call_next(session: SessionDep, actor: Caller, schedule_id: IdPath) -> QueueEntryRead:
    return QueueEntryRead.model_validate(service.call_next(session, actor, schedule_id))


@router.post("/queue/{entry_id}/recall", response_model=QueueEntryRead, summary="重呼")
def recall(session: SessionDep, actor: Caller, entry_id: IdPath) -> QueueEntryRead:
    return QueueEntryRead.model_validate(service.recall(session, actor, entry_id))


@router.post("/queue/{entry_id}/skip", response_model=QueueEntryRead, summary="过号")
def skip(session: SessionDep, actor: Caller, entry_id: IdPath) -> QueueEntryRead:
    return QueueEntryRead.model_validate(service.skip(session, actor, entry_id))


@router.get(
    "/patients/{patient_id}/bookings",
    response_model=list[BookingRead],
    summary="患者的预约与挂号（最近在前）",
)
def patient_bookings(session: SessionDep, actor: CurrentActor, patient_id: IdPath) -> Response:
    # ``list[BookingRead]`` as plain dicts encoded once; response_model above stays the documented shape
    return FastJSONResponse(service.patient_booking_dicts(session, actor, patient_id))


@router.get(
    "/bookings/{booking_id}/queue-place",
    response_model=QueuePlaceRead | None,
    summary="今日候诊位置（前面还有几人 / 正在叫号）",
)
def queue_place(session: SessionDep, actor: CurrentActor, booking_id: IdPath) -> QueuePlaceRead | None:
    service.get_booking(session, actor, booking_id)  # the patient's own, or staff: access-checked
    place = service.queue_place(session, booking_id)
    return QueuePlaceRead.model_validate(place) if place else None


@router.post("/kiosk/lookup", response_model=list[KioskBookingRead], summary="自助机：按身份证号查今日挂号")
def kiosk_lookup(session: SessionDep, actor: Kiosk, body: KioskLookup) -> list[KioskBookingRead]:
    return [
        KioskBookingRead.model_validate(k) for k in service.kiosk_bookings(session, actor, body.id_number)
    ]
