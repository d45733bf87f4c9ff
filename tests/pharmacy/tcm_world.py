"""A small world for the shared TCM pharmacy: the rx world plus the herbal catalogue and two machines."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import actor_of
from tests.outpatient.rx_world import RxWorld, make_rx_world
from yilian.catalog import herb_service
from yilian.catalog.herb_models import HerbRow
from yilian.kit.auth.domain import Actor
from yilian.outpatient.herbal_service import HerbalInput, LineInput
from yilian.pharmacy import decoction_service as tcm


@dataclass
class TcmWorld:
    rx: RxWorld
    checker: Actor
    codes: dict[str, str]  # herb name → code


def make_tcm_world(session: Session) -> TcmWorld:
    w = make_rx_world(session)
    herb_service.load_demo(session)
    tcm.add_machine(session, w.hospital.id, f"J{w.hospital.id}-1", "1 号煎药机")
    tcm.add_machine(session, w.hospital.id, f"J{w.hospital.id}-2", "2 号煎药机")
    codes = {r.name: r.code for r in session.scalars(select(HerbRow))}
    return TcmWorld(w, actor_of(w.checker), codes)


def body(w: TcmWorld, *herbs: tuple[str, int], **changes: object) -> HerbalInput:
    values: dict[str, object] = {"lines": [LineInput(w.codes[n], g) for n, g in herbs], "doses": 7}
    values.update(changes)
    return HerbalInput(**values)  # type: ignore[arg-type]


GUIPI = (("黄芪", 15), ("党参", 12), ("白术", 10), ("茯苓", 12), ("当归", 9), ("炙甘草", 6))
