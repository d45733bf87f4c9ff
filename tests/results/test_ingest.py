"""Ingest of real-format HL7 v2.5 ORU^R01 messages, FHIR R4 bundles and DICOM headers: idempotent, and
bad messages rejected with a clear reason and nothing stored."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from pydicom.uid import generate_uid
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import SYSTEM
from tests.results.messages import dicom_bytes, fhir_bundle, oru
from tests.results.world import World
from yilian.kit.clock import BUSINESS_TZ
from yilian.results import hl7, imaging, service
from yilian.results.errors import BadMessage, UnknownLocalCode, UnknownPatient
from yilian.results.models import IngestLog, Result


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Result)) or 0


def test_hl7_oru_with_escapes_and_repeated_obx(session: Session, world: World) -> None:
    service.add_code_map(session, SYSTEM, institution_id=world.county.id, local_code="GLU01", item_code="GLU")
    outcome = service.ingest_hl7(session, oru(world))
    assert not outcome.duplicate and len(outcome.result_ids) == 3
    rows = {r.item_code: r for r in session.scalars(select(Result).where(Result.id.in_(outcome.result_ids)))}
    assert set(rows) == {"GLU", "K", "TBIL"}
    glu = rows["GLU"]
    assert glu.local_code == "GLU01" and glu.value_num == 5.6 and glu.unit == "mmol/L"
    assert (
        glu.reference_range == "3.9-6.1" and glu.status == "final" and glu.institution_id == world.county.id
    )
    assert glu.patient_id == world.patient.id
    assert glu.observed_at == datetime(2026, 11, 10, 8, 0, tzinfo=BUSINESS_TZ)
    assert glu.result_date == date(2026, 11, 10)
    tbil = rows["TBIL"]
    assert (
        tbil.value_text == "<3.0^见备注" and tbil.reference_range == "3.4|20.5" and tbil.abnormal_flag == "L"
    )


def test_hl7_same_message_twice_stores_one_result(session: Session, world: World) -> None:
    service.add_code_map(session, SYSTEM, institution_id=world.county.id, local_code="GLU01", item_code="GLU")
    first = service.ingest_hl7(session, oru(world))
    before = _count(session)
    again = service.ingest_hl7(session, oru(world))
    assert again.duplicate and again.result_ids == first.result_ids and _count(session) == before
    # re-sent under a new control id, the same observations are still one result each
    resent = service.ingest_hl7(session, oru(world, control="MSG0002"))
    assert sorted(resent.result_ids) == sorted(first.result_ids) and _count(session) == before


@pytest.mark.parametrize(
    ("mutate", "error", "fragment"),
    [
        (lambda m: m.replace("OBX|2|NM", "OBQ|2|NM"), BadMessage, "无法解析"),
        (
            lambda m: m.replace("|F|||20261110080000\rOBX|3", "|Z|||20261110080000\rOBX|3"),
            BadMessage,
            "OBX-11",
        ),
        (lambda m: m.replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01"), BadMessage, "ORU^R01"),
        (lambda m: m.replace("GLU01^", "NOPE^"), UnknownLocalCode, "NOPE"),
        (lambda m: m.replace("20261110080000\rOBX|2", "2026-11-10\rOBX|2"), BadMessage, "时间"),
    ],
)
def test_hl7_bad_messages_store_nothing(session: Session, world: World, mutate, error, fragment) -> None:  # type: ignore[no-untyped-def]
    service.add_code_map(session, SYSTEM, institution_id=world.county.id, local_code="GLU01", item_code="GLU")
    before = _count(session)
    logs = session.scalar(select(func.count()).select_from(IngestLog))
    with pytest.raises(error) as info:
        service.ingest_hl7(session, mutate(oru(world)))
    assert fragment in info.value.detail
    assert _count(session) == before
    assert session.scalar(select(func.count()).select_from(IngestLog)) == logs


def test_hl7_unknown_patient_is_rejected(session: Session, world: World) -> None:
    with pytest.raises(UnknownPatient, match="患者主索引"):
        service.ingest_hl7(session, oru(world, id_number="11010519491231002X"))
    assert _count(session) == 0


def test_hl7_ack_codes() -> None:
    text = hl7.ack("MSG9", "AE", "患者|不存在")
    segments = text.strip("\r").split("\r")
    assert segments[0].startswith("MSH|^~\\&|") and "ACK^R01^ACK" in segments[0]
    assert segments[1] == "MSA|AE|MSG9|患者\\F\\不存在"
    assert hl7.unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g\\X41\\") == "a|b^c&d~e\\f\ng" + "A"


def test_fhir_bundle_with_loinc_is_stored_once(session: Session, world: World) -> None:
    first = service.ingest_fhir_bundle(session, fhir_bundle(world))
    row = session.get(Result, first.result_ids[0])
    assert row is not None and row.item_code == "GLU" and row.value_num == 6.2 and row.abnormal_flag == "H"
    assert row.reference_range == "3.9-6.1" and row.institution_id == world.tertiary.id
    again = service.ingest_fhir_bundle(session, fhir_bundle(world))
    assert again.duplicate and _count(session) == 1


def test_fhir_bundle_invalid_is_rejected(session: Session, world: World) -> None:
    bad = fhir_bundle(world)
    bad["entry"][2]["resource"]["valueQuantity"] = {"value": "五点六"}  # type: ignore[index]
    with pytest.raises(BadMessage, match="校验失败"):
        service.ingest_fhir_bundle(session, bad)
    with pytest.raises(BadMessage, match="status 不支持"):
        service.ingest_fhir_bundle(session, fhir_bundle(world, status="bogus"))
    missing = fhir_bundle(world)
    missing["entry"] = missing["entry"][1:]  # type: ignore[index]
    with pytest.raises(BadMessage, match="Patient"):
        service.ingest_fhir_bundle(session, missing)
    assert _count(session) == 0


def test_dicom_header_becomes_an_imaging_result(session: Session, world: World) -> None:
    uid = generate_uid()
    study = imaging.read_dicom(
        io.BytesIO(dicom_bytes(world.patient.id_number, uid)),
        report_text="双肺纹理清晰，未见明显实质性病变。",
        sender_code="TCO",
    )
    assert study.modality == "CT" and study.body_part == "CHEST" and study.study_uid == uid
    outcome = service.ingest_imaging(session, study)
    row = session.get(Result, outcome.result_ids[0])
    assert row is not None and row.item_code == "CT-CHEST" and row.kind == "imaging" and row.study_uid == uid
    assert row.result_date == date(2026, 11, 5)
    assert service.ingest_imaging(session, study).duplicate and _count(session) == 1


def test_not_a_dicom_file_is_rejected() -> None:
    with pytest.raises(BadMessage, match="DICOM"):
        imaging.read_dicom(io.BytesIO(b"not a dicom file at all"), report_text="x", sender_code="TCO")
