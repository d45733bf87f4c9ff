"""HTTP API of 云伴诊 under /api/v1/companion: consents per visit, the feed, and its live stream (SSE)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

from fastapi import Header, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

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
from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep
from yilian.kit.bounds import MAX_BIG, IdPath

router = AreaRouter(prefix="/api/v1/companion", tags=["云伴诊"])


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


class FeedStream(Response):
    """The SSE body, written straight to the ASGI connection: the backlog after ``Last-Event-ID``, then
    each line as the bus hands it over (already encoded, the same bytes for every stream it reaches),
    until the consent ends (an ``ended`` event says why) or the client goes away. No database session
    and no timer per open stream: the process's :class:`service.Watcher` reads the database for all of
    them, and a disconnect arrives as an ``http.disconnect`` message."""

    media_type = "text/event-stream"

    def __init__(
        self, follow_id: int, after: int, view: service.FeedView, poll: Callable[[int], service.FeedView]
    ) -> None:
        self.status_code, self.background = 200, None  # no body, so no Content-Length: a stream
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.follow_id, self.after, self.view, self.poll = follow_id, after, view, poll

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        queue = service.bus.subscribe(self.follow_id)
        service.watcher.ensure_running()  # other workers' lines and the consent's end, for every stream

        async def listen() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            queue.put_nowait(("gone", 0, None))

        listener = asyncio.create_task(listen())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._stream(queue, send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away while we wrote
        finally:
            listener.cancel()
            service.bus.unsubscribe(self.follow_id, queue)

    async def _stream(self, queue: asyncio.Queue[service.Message], send: Send) -> None:
        last = self.after

        async def write(body: bytes) -> None:
            await send({"type": "http.response.body", "body": body, "more_body": True})

        async def backlog(view: service.FeedView) -> bool:
            """Send the view's lines after ``last``; False once it says the consent ended."""
            nonlocal last
            chunk = [service.sse("line", service.item_dict(i), i.id) for i in view.items if i.id > last]
            last = max([last, *(i.id for i in view.items)])
            if view.ended is not None:
                chunk.append(service.sse("ended", {"reason": view.ended.value, "label": view.ended.label}))
            if chunk:
                await write(b"".join(chunk))
            return view.ended is None

        await write(": 云伴诊\nretry: 2000\n\n".encode())
        if not await backlog(self.view):
            return
        # lines committed between the first read and the subscription
        if not await backlog(await run_in_threadpool(self.poll, last)):
            return
        while True:
            kind, line_id, data = await queue.get()
            if kind == "item":
                if line_id > last:
                    last = line_id
                    await write(data)
            elif kind == "end":
                if not await backlog(await run_in_threadpool(self.poll, last)):
                    return
            else:  # gone
                return


@router.get("/follows/{follow_id}/stream", summary="云伴诊实时推送（Server-Sent Events）")
def stream(
    follow_id: IdPath,
    session: SessionDep,
    actor: CurrentActor,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    """Lines after ``Last-Event-ID`` (missed ones once, in order), then live ones; ends with an ``ended``
    event saying why (revoked / expired). A forged or expired token is refused before anything streams."""
    try:
        after = max(int(last_event_id or 0), 0)
    except ValueError:
        after = 0
    view = service.open_feed(session, actor, follow_id, after_id=after, channel="sse")
    session.commit()  # the audit row of this view

    def poll(last: int) -> service.FeedView:  # a short transaction on the request's session, then closed
        try:
            return service.poll(session, follow_id, last)
        finally:
            session.commit()
            session.close()

    return FeedStream(follow_id, after, view, poll)
