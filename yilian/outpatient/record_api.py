"""HTTP API of the outpatient record, allergies and prescriptions (the doctor's side) under /api/v1."""

from __future__ import annotations

from fastapi.responses import JSONResponse, Response

from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep
from yilian.kit.bounds import IdPath
from yilian.kit.errors import YilianError
from yilian.outpatient import fhir, record_service, rx_service
from yilian.outpatient import service as outpatient
from yilian.outpatient.record_schemas import (
    AllergyCreate,
    AllergyRead,
    AmendRequest,
    PrescriptionRead,
    RecordRead,
    RecordUpdate,
    RecordVersionRead,
    SubmitRequest,
)
from yilian.registry import fhir as registry_fhir

record_router = AreaRouter(prefix="/api/v1", tags=["门诊病历与处方"])
fhir_router = AreaRouter(prefix="/fhir", tags=["FHIR R4"])


@record_router.get("/encounters/{encounter_id}/record", response_model=RecordRead, summary="门诊病历")
def record(encounter_id: IdPath, session: SessionDep, actor: CurrentActor) -> RecordRead:
    return RecordRead.model_validate(record_service.record_for(session, actor, encounter_id))


@record_router.put(
    "/encounters/{encounter_id}/record", response_model=RecordRead, summary="书写门诊病历（签名前）"
)
def save_record(
    encounter_id: IdPath, body: RecordUpdate, session: SessionDep, actor: CurrentActor
) -> RecordRead:
    return RecordRead.model_validate(record_service.save_record(session, actor, encounter_id, body))


@record_router.post("/encounters/{encounter_id}/record/sign", response_model=RecordRead, summary="签名")
def sign(encounter_id: IdPath, session: SessionDep, actor: CurrentActor) -> RecordRead:
    return RecordRead.model_validate(record_service.sign(session, actor, encounter_id))


@record_router.post(
    "/encounters/{encounter_id}/record/amend", response_model=RecordRead, summary="修订（签名后）"
)
def amend(encounter_id: IdPath, body: AmendRequest, session: SessionDep, actor: CurrentActor) -> RecordRead:
    return RecordRead.model_validate(record_service.amend(session, actor, encounter_id, body, body.reason))


@record_router.get(
    "/encounters/{encounter_id}/record/versions", response_model=list[RecordVersionRead], summary="病历版本"
)
def versions(encounter_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[RecordVersionRead]:
    return [
        RecordVersionRead.model_validate(v) for v in record_service.versions(session, actor, encounter_id)
    ]


@record_router.post(
    "/encounters/{encounter_id}/record/template/{template_id}", response_model=RecordRead, summary="套用模板"
)
def apply_template(
    encounter_id: IdPath, template_id: IdPath, session: SessionDep, actor: CurrentActor
) -> RecordRead:
    return RecordRead.model_validate(record_service.apply_template(session, actor, encounter_id, template_id))


@record_router.delete(
    "/encounters/{encounter_id}/diagnoses/{diagnosis_id}", status_code=204, summary="删除诊断"
)
def remove_diagnosis(
    encounter_id: IdPath, diagnosis_id: IdPath, session: SessionDep, actor: CurrentActor
) -> None:
    record_service.remove_diagnosis(session, actor, encounter_id, diagnosis_id)


@record_router.get("/patients/{patient_id}/allergies", response_model=list[AllergyRead], summary="过敏史")
def allergies(patient_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[AllergyRead]:
    return [AllergyRead.model_validate(a) for a in record_service.list_allergies(session, actor, patient_id)]


@record_router.post(
    "/patients/{patient_id}/allergies", response_model=AllergyRead, status_code=201, summary="记录过敏"
)
def add_allergy(
    patient_id: IdPath, body: AllergyCreate, session: SessionDep, actor: CurrentActor
) -> AllergyRead:
    return AllergyRead.model_validate(
        record_service.add_allergy(session, actor, patient_id, body.substance, body.reaction)
    )


@record_router.get(
    "/encounters/{encounter_id}/prescriptions",
    response_model=list[PrescriptionRead],
    summary="本次就诊的处方",
)
def prescriptions(encounter_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[PrescriptionRead]:
    encounter = outpatient.get_encounter(session, actor, encounter_id)
    return rx_service.prescriptions_of_encounter(session, encounter.id)


@record_router.post(
    "/prescriptions/{prescription_id}/submit", response_model=PrescriptionRead, summary="提交审方"
)
def submit(
    prescription_id: IdPath, body: SubmitRequest, session: SessionDep, actor: CurrentActor
) -> PrescriptionRead:
    return rx_service.prescription_read(
        session, rx_service.submit(session, actor, prescription_id, body.note)
    )


@record_router.get(
    "/patients/{patient_id}/prescriptions", response_model=list[PrescriptionRead], summary="患者的处方"
)
def patient_prescriptions(
    patient_id: IdPath, session: SessionDep, actor: CurrentActor
) -> list[PrescriptionRead]:
    return rx_service.patient_prescriptions(session, actor, patient_id)


def _fhir(body: dict[str, object], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=registry_fhir.FHIR_JSON)


@fhir_router.get("/Condition/{diagnosis_id}", summary="FHIR Condition read（诊断）")
def fhir_condition(diagnosis_id: IdPath, session: SessionDep, actor: CurrentActor) -> JSONResponse:
    try:
        diagnosis, encounter, mpi = record_service.diagnosis_for_read(session, actor, diagnosis_id)
    except YilianError as exc:
        return _fhir(registry_fhir.outcome(exc), exc.status)
    return _fhir(fhir.condition_resource(diagnosis, encounter, mpi))


@fhir_router.get("/AllergyIntolerance/{allergy_id}", summary="FHIR AllergyIntolerance read（过敏）")
def fhir_allergy(allergy_id: IdPath, session: SessionDep, actor: CurrentActor) -> JSONResponse:
    try:
        allergy, mpi = record_service.allergy_for_read(session, actor, allergy_id)
    except YilianError as exc:
        return _fhir(registry_fhir.outcome(exc), exc.status)
    return _fhir(fhir.allergy_resource(allergy, mpi))


@record_router.get(
    "/encounters/{encounter_id}/record.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="打印门诊病历（A5 PDF）",
)
def record_pdf(encounter_id: IdPath, session: SessionDep, actor: CurrentActor) -> Response:
    body = record_service.printed_record(session, actor, encounter_id)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="record-{encounter_id}.pdf"'},
    )
