"""HTTP API of 云伴诊 under /api/v1/companion: consents per visit, the feed, and its live stream (SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from yilian.companion import service
from yilian.companion.schemas import (
    FamilyBillRead,
    FamilyPay,
    FamilyPaymentRead,
    FeedItemRead,
    FeedRead,
    FollowCreate,
    FollowRead,
)
from yilian.kit.auth.deps import CurrentActor, SessionDep, TransactionalRoute
from yilian.kit.bounds import MAX_BIG, IdPath

router = APIRouter(prefix="/api/v1/companion", tags=["云伴诊"], route_class=TransactionalRoute)

STREAM_POLL_SECONDS = 2.0  # a stream checks for a disconnect this often (the watcher reads the database)


@router.post("/follows", response_model=FollowRead, status_code=201, summary="邀请家属云伴诊（按次授权）")
def grant(body: FollowCreate, session: SessionDep, actor: CurrentActor) -> FollowRead:
    return FollowRead.model_validate(service.grant(session, actor, body))


@router.post("/follows/{follow_id}/revoke", response_model=FollowRead, summary="撤销云伴诊授权")
def revoke(follow_id: IdPath, session: SessionDep, actor: CurrentActor) -> FollowRead:
    return FollowRead.model_validate(service.revoke(session, actor, follow_id))


@router.get("/patients/{patient_id}/follows", response_model=list[FollowRead], summary="谁在陪诊我")
def of_patient(patient_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[FollowRead]:
    return [FollowRead.model_validate(f) for f in service.follows_of_patient(session, actor, patient_id)]


@router.get("/following", response_model=list[FollowRead], summary="我可以陪诊的就诊")
def following(session: SessionDep, actor: CurrentActor) -> list[FollowRead]:
    return [FollowRead.model_validate(f) for f in service.follows_of_relative(session, actor)]


@router.get(
    "/follows/{follow_id}/bills", response_model=list[FamilyBillRead], summary="患者当日可亲情付的费用"
)
def family_bills(follow_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[FamilyBillRead]:
    return [FamilyBillRead(**vars(b)) for b in service.family_bills(session, actor, follow_id)]


@router.post(
    "/follows/{follow_id}/family-pay", response_model=FamilyPaymentRead, summary="亲情付：家属代付当日费用"
)
def family_pay(
    follow_id: IdPath, body: FamilyPay, session: SessionDep, actor: CurrentActor
) -> FamilyPaymentRead:
    """Settle the patient's bill of today with the relative paying the cash part (a retry pays once)."""
    done = service.pay_as_family(
        session,
        actor,
        follow_id,
        encounter_id=body.encounter_id,
        channel=body.channel,
        idempotency_key=body.idempotency_key,
    )
    return FamilyPaymentRead.model_validate(done)


def _feed(view: service.FeedView) -> FeedRead:
    return FeedRead(
        follow=FollowRead.model_validate(view.follow),
        live=view.ended is None,
        ended_reason=view.ended.value if view.ended else None,
        ended_label=view.ended.label if view.ended else None,
        items=[FeedItemRead.model_validate(i) for i in view.items],
    )


@router.get("/follows/{follow_id}/feed", response_model=FeedRead, summary="云伴诊动态（历史）")
def feed(
    follow_id: IdPath,
    session: SessionDep,
    actor: CurrentActor,
    after: Annotated[int, Query(ge=0, le=MAX_BIG)] = 0,
) -> FeedRead:
    return _feed(service.open_feed(session, actor, follow_id, after_id=max(after, 0)))


def _sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/follows/{follow_id}/stream", summary="云伴诊实时推送（Server-Sent Events）")
def stream(
    follow_id: IdPath,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Lines after ``Last-Event-ID`` (missed ones once, in order), then live ones; ends with an ``ended``
    event saying why (revoked / expired). A forged or expired token is refused before anything streams."""
    try:
        after = max(int(last_event_id or 0), 0)
    except ValueError:
        after = 0
    view = service.open_feed(session, actor, follow_id, after_id=after, channel="sse")
    session.commit()  # the audit row of this view

    async def lines() -> AsyncIterator[str]:
        last = after
        queue = service.bus.subscribe(follow_id)
        service.watcher.ensure_running()  # other workers' lines and the consent's end, for every stream
        pending: service.FeedView | None = view
        try:
            yield ": 云伴诊\nretry: 2000\n\n"
            caught_up = False
            while True:
                if pending is not None:
                    for item in pending.items:
                        if item.id > last:
                            last = item.id
                            yield _sse("line", service.item_dict(item), item.id)
                    if pending.ended is not None:
                        yield _sse("ended", {"reason": pending.ended.value, "label": pending.ended.label})
                        return
                    pending = None
                if not caught_up:  # lines committed between the first read and the subscription
                    caught_up = True
                    pending = await run_in_threadpool(_poll, follow_id, last)
                    continue
                try:
                    kind, data = await asyncio.wait_for(queue.get(), STREAM_POLL_SECONDS)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    continue
                if kind == "item" and data["id"] > last:
                    last = data["id"]
                    yield _sse("line", data, data["id"])
                elif kind == "end":
                    pending = await run_in_threadpool(_poll, follow_id, last)
        finally:
            service.bus.unsubscribe(follow_id, queue)

    def _poll(fid: int, last: int) -> service.FeedView:
        try:
            return service.poll(session, fid, last)
        finally:
            session.commit()

    return StreamingResponse(
        lines(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
