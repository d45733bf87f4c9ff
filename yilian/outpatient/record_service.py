"""Use cases of the outpatient record (门诊病历): write it from a department template, sign it, amend it
after signing (each signature a kept version); the patient's allergies; removing a diagnosis."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import BUSINESS_TZ, age_on, business_date, utcnow
from yilian.kit.errors import Forbidden, found
from yilian.outpatient import record_repository as repo
from yilian.outpatient import repository as encounters
from yilian.outpatient import service as outpatient
from yilian.outpatient.errors import (
    AllergyNotFound,
    DiagnosisNotFound,
    InvalidRecord,
    RecordSigned,
)
from yilian.outpatient.models import Encounter, EncounterDiagnosis
from yilian.outpatient.record_models import (
    OutpatientRecord,
    OutpatientRecordVersion,
    PatientAllergy,
    RecordTemplate,
)
from yilian.outpatient.record_schemas import RECORD_FIELDS, RecordUpdate
from yilian.registry import service as registry


def record_for(session: Session, actor: Actor, encounter_id: int) -> OutpatientRecord:
    """The encounter's record, created empty when the doctor first writes it."""
    encounter = outpatient.get_encounter(session, actor, encounter_id)
    record = repo.record_of(session, encounter.id)
    if record is None:
        record = OutpatientRecord(
            encounter_id=encounter.id,
            patient_id=encounter.patient_id,
            business_date=encounter.business_date,
            updated_at=utcnow(),
        )
        session.add(record)
        session.flush()
    return record


def _apply(record: OutpatientRecord, data: RecordUpdate) -> None:
    for key, value in data.model_dump(exclude_unset=True, exclude={"reason"}).items():
        setattr(record, key, value.strip() if isinstance(value, str) else value)
    record.updated_at = utcnow()


def save_record(session: Session, actor: Actor, encounter_id: int, data: RecordUpdate) -> OutpatientRecord:
    """Write fields of an unsigned record (the encounter must be open at the actor's institution)."""
    outpatient.writable_encounter(session, actor, encounter_id)
    record = record_for(session, actor, encounter_id)
    if record.version:
        raise RecordSigned("病历已签名，修改请使用“修订”并说明理由")
    _apply(record, data)
    session.flush()
    return record


def _content(record: OutpatientRecord) -> dict[str, object]:
    content: dict[str, object] = {k: getattr(record, k) for k in RECORD_FIELDS}
    content["weight_kg"] = None if record.weight_kg is None else str(record.weight_kg)
    content["pregnancy"] = record.pregnancy
    return content


def _new_version(session: Session, actor: Actor, record: OutpatientRecord, reason: str) -> None:
    record.version += 1
    record.signed_by, record.signer_name, record.signed_at = actor.user_id, actor.display_name, utcnow()
    session.add(
        OutpatientRecordVersion(
            record_id=record.id,
            version=record.version,
            content=_content(record),
            signed_by=actor.user_id,
            signer_name=actor.display_name or actor.username,
            signed_at=record.signed_at,
            reason=reason,
        )
    )
    session.flush()


def sign(session: Session, actor: Actor, encounter_id: int) -> OutpatientRecord:
    """Sign the record (version 1); a chief complaint is required."""
    outpatient.writable_encounter(session, actor, encounter_id)
    record = record_for(session, actor, encounter_id)
    if record.version:
        raise RecordSigned("病历已签名")
    if not record.chief_complaint.strip():
        raise InvalidRecord("签名前请填写主诉")
    _new_version(session, actor, record, "")
    return record


def amend(
    session: Session, actor: Actor, encounter_id: int, data: RecordUpdate, reason: str
) -> OutpatientRecord:
    """Amend a signed record: the change becomes a new signed version with its reason."""
    encounter = outpatient.get_encounter(session, actor, encounter_id)
    if encounter.institution_id != actor.institution_id:
        raise Forbidden("只能修订本机构的病历")
    outpatient.require_writer(actor)
    record = record_for(session, actor, encounter_id)
    if not record.version:
        raise InvalidRecord("病历尚未签名，直接修改即可")
    if not reason.strip():
        raise InvalidRecord("修订须说明理由")
    _apply(record, data)
    _new_version(session, actor, record, reason.strip()[:200])
    return record


def versions(session: Session, actor: Actor, encounter_id: int) -> Sequence[OutpatientRecordVersion]:
    """The signed versions of an encounter's record, oldest first."""
    record = record_for(session, actor, encounter_id)
    return repo.versions_of(session, record.id)


def templates_for(session: Session, department_id: int | None) -> Sequence[RecordTemplate]:
    """The templates of a department, then those for every department."""
    return repo.templates_for(session, department_id)


def add_template(
    session: Session, *, department_id: int | None, name: str, content: dict[str, str]
) -> RecordTemplate:
    unknown = set(content) - set(RECORD_FIELDS)
    if unknown:
        raise InvalidRecord(f"模板含未知字段: {', '.join(sorted(unknown))}")
    template = RecordTemplate(department_id=department_id, name=name, content=content)
    session.add(template)
    session.flush()
    return template


def apply_template(session: Session, actor: Actor, encounter_id: int, template_id: int) -> OutpatientRecord:
    """Fill the record's empty fields from a template of the encounter's department."""
    encounter = outpatient.writable_encounter(session, actor, encounter_id)
    template = session.get(RecordTemplate, template_id)
    if template is None or template.department_id not in (None, encounter.department_id):
        raise InvalidRecord("模板不存在或不属于本科室")
    record = record_for(session, actor, encounter_id)
    if record.version:
        raise RecordSigned("病历已签名，不能套用模板")
    for key, text in template.content.items():
        if key in RECORD_FIELDS and not getattr(record, key):
            setattr(record, key, text)
    record.template_id = template.id
    record.updated_at = utcnow()
    session.flush()
    return record


# ---------------------------------------------------------------- allergies (kept on the patient)


def allergies(session: Session, patient_id: int) -> list[str]:
    """The patient's allergy substances (for review and for every screen where an order is written)."""
    return [a.substance for a in repo.allergies_of(session, patient_id)]


def list_allergies(session: Session, actor: Actor, patient_id: int) -> Sequence[PatientAllergy]:
    registry.get_patient(session, actor, patient_id, reason="查看过敏史")
    return repo.allergies_of(session, patient_id)


def add_allergy(
    session: Session, actor: Actor, patient_id: int, substance: str, reaction: str = ""
) -> PatientAllergy:
    """Record an allergy on the patient (a doctor who may read the patient)."""
    outpatient.require_writer(actor)
    registry.get_patient(session, actor, patient_id, reason="记录过敏史")
    substance = substance.strip()
    if not substance:
        raise InvalidRecord("过敏物质不能为空")
    if substance in allergies(session, patient_id):
        raise InvalidRecord(f"已记录对“{substance}”过敏")
    allergy = PatientAllergy(
        patient_id=patient_id,
        substance=substance[:60],
        reaction=reaction.strip()[:100],
        recorded_by=actor.user_id,
        recorded_at=utcnow(),
    )
    session.add(allergy)
    session.flush()
    record_access(
        session,
        actor,
        action="update",
        resource=f"patients/{patient_id}/allergies",
        patient_id=patient_id,
        reason="记录过敏史",
    )
    return allergy


def remove_allergy(session: Session, actor: Actor, allergy_id: int) -> None:
    outpatient.require_writer(actor)
    allergy = found(session.get(PatientAllergy, allergy_id), AllergyNotFound("过敏记录不存在"))
    registry.get_patient(session, actor, allergy.patient_id, reason="删除过敏记录")
    session.delete(allergy)
    session.flush()


def remove_diagnosis(session: Session, actor: Actor, encounter_id: int, diagnosis_id: int) -> None:
    """Remove a diagnosis of an open encounter; when it was primary, the next one becomes primary."""
    encounter = outpatient.writable_encounter(session, actor, encounter_id)
    existing = list(encounters.diagnoses_of(session, encounter.id))
    target = found(
        next((d for d in existing if d.id == diagnosis_id), None),
        DiagnosisNotFound(f"诊断不存在: {diagnosis_id}"),
    )
    session.delete(target)
    rest: list[EncounterDiagnosis] = [d for d in existing if d.id != diagnosis_id]
    if target.is_primary and rest:
        rest[0].is_primary = True
    session.flush()


def set_primary(session: Session, actor: Actor, encounter_id: int, diagnosis_id: int) -> None:
    """Make one diagnosis the principal one (listed first)."""
    encounter = outpatient.writable_encounter(session, actor, encounter_id)
    found = False
    for d in encounters.diagnoses_of(session, encounter.id):
        d.is_primary = d.id == diagnosis_id
        found = found or d.is_primary
    if not found:
        raise DiagnosisNotFound(f"诊断不存在: {diagnosis_id}")
    session.flush()


def patient_records(session: Session, actor: Actor, patient_id: int) -> Sequence[OutpatientRecord]:
    """A patient's signed records, newest first (the phone page)."""
    registry.get_patient(session, actor, patient_id, reason="查看门诊病历")
    return [r for r in repo.records_of_patient(session, patient_id) if r.version]


def diagnoses_of_records(
    session: Session, records: Sequence[OutpatientRecord]
) -> dict[int, list[EncounterDiagnosis]]:
    """The diagnoses of the records' visits, by encounter id; for records already read through an
    access-checked call (``patient_records``), so no check of its own."""
    return {r.encounter_id: list(encounters.diagnoses_of(session, r.encounter_id)) for r in records}


def today() -> date:
    return business_date()


def diagnosis_for_read(
    session: Session, actor: Actor, diagnosis_id: int
) -> tuple[EncounterDiagnosis, Encounter, str]:
    """A diagnosis with its encounter and the patient's MPI number, for a reader of the patient (audited)."""
    diagnosis = found(
        session.get(EncounterDiagnosis, diagnosis_id), DiagnosisNotFound(f"诊断不存在: {diagnosis_id}")
    )
    encounter = outpatient.get_encounter(session, actor, diagnosis.encounter_id)
    return diagnosis, encounter, registry.find_patient(session, encounter.patient_id).mpi_id


def allergy_for_read(session: Session, actor: Actor, allergy_id: int) -> tuple[PatientAllergy, str]:
    """An allergy with the patient's MPI number, for a reader of the patient (audited)."""
    allergy = found(session.get(PatientAllergy, allergy_id), AllergyNotFound(f"过敏记录不存在: {allergy_id}"))
    patient = registry.get_patient(session, actor, allergy.patient_id, reason="FHIR AllergyIntolerance read")
    return allergy, patient.mpi_id


def printed_record(session: Session, actor: Actor, encounter_id: int) -> bytes:
    """The A5 PDF of an encounter's signed record (the patient's 门诊病历)."""
    from yilian.outpatient import record_pdf, rx_service  # rx_service imports this module

    encounter = outpatient.get_encounter(session, actor, encounter_id)
    record = repo.record_of(session, encounter.id)
    if record is None or not record.version:
        raise InvalidRecord("病历尚未签名，不能打印")
    patient = registry.find_patient(session, encounter.patient_id)
    signed = record.signed_at
    return record_pdf.render(
        record_pdf.PrintedRecord(
            institution=registry.get_institution(session, encounter.institution_id).name,
            department=registry.get_department(session, encounter.department_id).name,
            patient=patient.name,
            sex={"1": "男", "2": "女"}.get(patient.sex, "未知"),
            age=age_on(patient.birth_date, encounter.business_date),
            visit_date=encounter.business_date.isoformat(),
            fields={k: getattr(record, k) for k in RECORD_FIELDS},
            diagnoses=[
                d.name + ("（主要诊断）" if d.is_primary else "")
                for d in encounters.diagnoses_of(session, encounter.id)
            ],
            allergies=allergies(session, patient.id),
            prescriptions=rx_service.prescriptions_of_encounter(session, encounter.id),
            doctor=record.signer_name,
            signed=signed.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if signed else "",
            version=record.version,
        )
    )
