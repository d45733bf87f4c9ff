"""Shared reading centre (共享诊断中心): a community centre's CT is queued for the lead hospital's centre,
claimed by one reader (of two at once, one wins, on both databases), reported, verified by a second
reader, and the report replaces the pending one in the patient's results at the member."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from pydicom.uid import generate_uid
from sqlalchemy.orm import Session, sessionmaker

from tests.alliance.world import World, make_world, staff
from tests.builders import make_practitioner
from tests.dbutil import fresh_database
from yilian.alliance import errors, service
from yilian.alliance.models import Reading
from yilian.kit import migrate
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.db import build_engine, unit_of_work
from yilian.kit.errors import YilianError
from yilian.results import service as results
from yilian.results.domain import ResultStatus
from yilian.results.imaging import ImagingInput
from yilian.results.models import Result


def _study(session: Session, w: World, modality: str = "CT", part: str = "CHEST") -> int:
    outcome = results.ingest_imaging(
        session,
        ImagingInput(
            study_uid=generate_uid(),
            id_number=w.patient.id_number,
            sender_code=w.member.code,
            modality=modality,
            body_part=part,
            started=datetime(2026, 5, 7, 0, 30, tzinfo=UTC),
            report_text="待上级医院诊断中心出具报告",
            status=ResultStatus.PRELIMINARY,
        ),
    )
    return outcome.result_ids[0]


def _readers(session: Session, w: World) -> tuple[Actor, Actor]:
    a = make_practitioner(session, institution=w.lead, name="影像甲")
    b = make_practitioner(session, institution=w.lead, name="影像乙")
    return staff(Role.DOCTOR, w.lead, a) | _named("reader-a"), staff(Role.DOCTOR, w.lead, b) | _named(
        "reader-b"
    )


class _named:
    def __init__(self, name: str) -> None:
        self.name = name

    def __ror__(self, actor: Actor) -> Actor:
        from dataclasses import replace

        return replace(actor, username=self.name)


def test_read_at_the_centre_and_report_back_to_the_member(session: Session, world: World) -> None:
    w = world
    result_id = _study(session, w)
    reading = service.queue_reading(session, w.gp_actor, result_id)
    assert reading.centre_institution_id == w.lead.id and reading.state == "queued"
    assert service.queue_reading(session, w.gp_actor, result_id).id == reading.id  # once per study
    a, b = _readers(session, w)
    assert [r.id for r in service.worklist(session, a)] == [reading.id]
    service.claim_reading(session, a, reading.id)
    with pytest.raises(errors.ReadingTaken, match="reader-a"):
        service.claim_reading(session, b, reading.id)
    with pytest.raises(errors.ReadingTaken):
        service.report_reading(session, b, reading.id, "右上肺结节", "建议随访")
    with pytest.raises(errors.InvalidReading):
        service.report_reading(session, a, reading.id, "无", "")
    service.report_reading(
        session, a, reading.id, "右肺上叶见 6 mm 实性结节，边界清", "右肺上叶小结节，建议 6 个月复查"
    )
    with pytest.raises(errors.InvalidReading, match="另一位"):
        service.verify_reading(session, a, reading.id)
    before = session.get(Result, result_id)
    assert before is not None and before.status == "preliminary"
    service.verify_reading(session, b, reading.id)
    session.expire_all()
    after = session.get(Result, result_id)
    assert after is not None and after.status == "final" and "6 mm" in after.report_text
    assert "共享诊断中心" in after.report_text and after.institution_id == w.member.id
    with pytest.raises(YilianError):
        service.claim_reading(session, w.gp_actor, reading.id)  # not a reader of the centre
    [sent] = service.reading_views(session, service.member_readings(session, w.gp_actor))  # the clinic's tab
    assert (sent.reading.id, sent.state_label, sent.member, sent.patient) == (
        reading.id,
        "已审核",
        "测试城东社区",
        "赵秀英",
    )
    assert sent.reading.conclusion == "右肺上叶小结节，建议 6 个月复查"
    assert service.member_readings(session, a) == []  # the centre sent none
    assert service.worklist(session, a, ["queued", "claimed", "reported"]) == []  # done: off the open list


def test_a_member_ecg_is_read_by_one_reader_and_goes_back(session: Session, world: World) -> None:
    w = world
    result_id = _study(session, w, "ECG", "HEART")
    assert session.get(Result, result_id).item_code == "ECG-12"  # type: ignore[union-attr]
    reading = service.queue_reading(session, w.gp_actor, result_id)
    assert (reading.kind, reading.needs_verify, reading.title) == ("ecg", False, "常规十二导联心电图")
    a, b = _readers(session, w)
    service.claim_reading(session, a, reading.id)
    service.report_reading(session, a, reading.id, "窦性心律，心率 72 次/分，ST-T 未见异常。", "正常心电图")
    assert reading.state == "reported"
    with pytest.raises(errors.ReadingTaken):  # nothing to verify: it went back with the report
        service.verify_reading(session, b, reading.id)
    session.expire_all()
    back = session.get(Result, result_id)
    assert back is not None and back.status == "final" and "正常心电图" in back.report_text
    assert [r.id for r in service.worklist(session, a, ["queued", "claimed", "reported"])] == []


def test_templates_follow_the_study_kind() -> None:
    from yilian.alliance.domain import templates_for

    ecg = [t[0] for t in templates_for("ecg")]
    films = [t[0] for t in templates_for("imaging")]
    assert ecg and all(n.startswith("心电图") for n in ecg)
    assert films and not any(n.startswith("心电图") for n in films)


def test_two_readers_claim_at_once_one_wins() -> None:
    with fresh_database("alliance_read") as url:
        engine = build_engine(url, pool_size=4) if "postgresql" in url else build_engine(url)
        try:
            migrate.upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            with unit_of_work(factory) as s:
                w = make_world(s)
                reading_id = service.queue_reading(s, w.gp_actor, _study(s, w)).id
                readers = _readers(s, w)
            barrier = threading.Barrier(2, timeout=60)

            def claim(actor: Actor) -> str:
                barrier.wait()
                try:
                    with unit_of_work(factory) as s:
                        service.claim_reading(s, actor, reading_id)
                    return "won"
                except errors.ReadingTaken:
                    return "lost"

            with ThreadPoolExecutor(max_workers=2) as pool:
                outcomes = list(pool.map(claim, readers))
            assert sorted(outcomes) == ["lost", "won"]
            with unit_of_work(factory) as s:
                row = s.get(Reading, reading_id)
                winner = readers[outcomes.index("won")].username
                assert row is not None and row.state == "claimed" and row.reader == winner
        finally:
            engine.dispose()
