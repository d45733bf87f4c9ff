"""FHIR R4 results: Bundles of DiagnosticReport + Observation received (validated with fhir.resources,
R4B models which are wire-compatible with R4 for these resources) and Observation / DiagnosticReport /
ImagingStudy rendered for read and search.

The rendered resources are built as plain dicts, exactly what ``Model.model_validate(body).model_dump(
mode="json", exclude_none=True)`` gives (building the pydantic models was 91 % of an Observation search,
issue 16); ``validated`` does that round trip and ``tests/results/test_fhir_render.py`` checks every kind
of resource against it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.imagingstudy import ImagingStudy
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from yilian.kit.errors import found
from yilian.results.domain import FHIR_STATUS, IncomingResult, ResultStatus
from yilian.results.errors import BadMessage

FHIR_JSON = "application/fhir+json"
RESIDENT_ID_SYSTEM = "https://yilian.dev/fhir/sid/cn-resident-id"
MPI_SYSTEM = "https://yilian.dev/fhir/sid/mpi"
INSTITUTION_SYSTEM = "https://yilian.dev/fhir/sid/institution-code"
REGIONAL_ITEM_SYSTEM = "https://yilian.dev/fhir/CodeSystem/results-item"
LOINC = "http://loinc.org"
_STATUS_OUT = {
    ResultStatus.FINAL: "final",
    ResultStatus.CORRECTED: "corrected",
    ResultStatus.PRELIMINARY: "preliminary",
    ResultStatus.CANCELLED: "cancelled",
}


class ParsedBundle:
    def __init__(self, message_id: str, sender: str, results: list[IncomingResult]) -> None:
        self.message_id, self.sender, self.results = message_id, sender, results


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}"


def parse_bundle(body: dict[str, Any]) -> ParsedBundle:
    """Validate a Bundle and return its observations as incoming results, or raise BadMessage."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise BadMessage("请求体必须是 FHIR Bundle")
    try:
        bundle = Bundle.model_validate(body)
    except ValidationError as exc:
        raise BadMessage(f"FHIR Bundle 校验失败: {_first_error(exc)}") from exc
    message_id = (
        bundle.identifier.value if bundle.identifier and bundle.identifier.value else bundle.id
    ) or ""
    if not message_id:
        raise BadMessage("Bundle 缺少 identifier 或 id（用于幂等）")
    resources: dict[str, Any] = {}
    by_type: dict[str, list[Any]] = {}
    for entry in bundle.entry or []:
        res = entry.resource
        if res is None:
            continue
        rtype = res.get_resource_type()
        by_type.setdefault(rtype, []).append(res)
        if entry.fullUrl:
            resources[entry.fullUrl] = res
        if res.id:
            resources[f"{rtype}/{res.id}"] = res
    patients = by_type.get("Patient", [])
    if len(patients) != 1:
        raise BadMessage("Bundle 中必须恰好有一个 Patient")
    id_number = next(
        (i.value for i in patients[0].identifier or [] if i.system == RESIDENT_ID_SYSTEM and i.value), ""
    )
    if not id_number:
        raise BadMessage(f"Patient.identifier 缺少居民身份证号（system {RESIDENT_ID_SYSTEM}）")
    orgs = by_type.get("Organization", [])
    sender = next(
        (i.value for o in orgs for i in o.identifier or [] if i.system == INSTITUTION_SYSTEM and i.value), ""
    )
    if not sender:
        raise BadMessage(f"Organization.identifier 缺少机构编码（system {INSTITUTION_SYSTEM}）")
    reports = by_type.get("DiagnosticReport", [])
    if not reports:
        raise BadMessage("Bundle 中没有 DiagnosticReport")
    results: list[IncomingResult] = []
    for report in reports:
        for ref in report.result or []:
            obs = resources.get(ref.reference or "")
            if obs is None or obs.get_resource_type() != "Observation":
                raise BadMessage(
                    f"DiagnosticReport.result 引用的 Observation 不在 Bundle 中: {ref.reference}"
                )
            results.append(_observation(obs, id_number=id_number, sender=sender, report=report))
    if not results:
        raise BadMessage("DiagnosticReport 没有 Observation 结果")
    return ParsedBundle(str(message_id), str(sender), results)


def _observation(obs: Any, *, id_number: str, sender: str, report: Any) -> IncomingResult:
    coding = (obs.code.coding or []) if obs.code else []
    code = next((c for c in coding if c.system != LOINC and c.code), None) or next(
        (c for c in coding if c.code), None
    )
    if code is None:
        raise BadMessage("Observation.code 没有编码")
    local_code = ("loinc:" if code.system == LOINC else "") + str(code.code)
    if obs.status not in FHIR_STATUS:
        raise BadMessage(f"Observation.status 不支持: {obs.status}")
    when = found(
        obs.effectiveDateTime or report.effectiveDateTime or obs.issued,
        BadMessage("Observation 缺少 effectiveDateTime"),
    )
    if not isinstance(when, datetime):
        when = datetime.fromisoformat(str(when))
    if when.tzinfo is None:
        raise BadMessage("effectiveDateTime 必须带时区")
    unit = ""
    if obs.valueQuantity is not None:
        value = "" if obs.valueQuantity.value is None else format(obs.valueQuantity.value, "f")
        unit = obs.valueQuantity.unit or obs.valueQuantity.code or ""
    elif obs.valueString is not None:
        value = obs.valueString
    else:
        raise BadMessage("Observation 缺少 valueQuantity / valueString")
    ref_range = ""
    if obs.referenceRange:
        rr = obs.referenceRange[0]
        if rr.text:
            ref_range = rr.text
        elif rr.low is not None or rr.high is not None:
            low = rr.low.value if rr.low is not None else ""
            high = rr.high.value if rr.high is not None else ""
            ref_range = f"{low}-{high}"
    flag = ""
    if obs.interpretation and obs.interpretation[0].coding:
        flag = obs.interpretation[0].coding[0].code or ""
    key = next((i.value for i in obs.identifier or [] if i.value), None) or obs.id
    if not key:
        raise BadMessage("Observation 缺少 identifier 或 id（用于幂等）")
    return IncomingResult(
        source_key=f"fhir:{sender}:{key}",
        id_number=id_number,
        sender_code=sender,
        local_code=local_code,
        local_name=code.display or "",
        value_text=value,
        unit=unit,
        reference_range=ref_range,
        abnormal_flag=flag,
        status=FHIR_STATUS[obs.status],
        observed_at=when,
        report_text=report.conclusion or "",
    )


def instant(at: datetime) -> str:
    """A FHIR dateTime / instant as fhir.resources renders it (UTC as ``Z``)."""
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


_MODELS: dict[str, Any] = {
    "Observation": Observation,
    "DiagnosticReport": DiagnosticReport,
    "ImagingStudy": ImagingStudy,
    "Bundle": Bundle,
}


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource validated by fhir.resources and dumped back (for tests: the fast output must equal it)."""
    model = _MODELS[resource["resourceType"]]
    return model.model_validate(resource).model_dump(mode="json", exclude_none=True)  # type: ignore[no-any-return]


_RESULT_SOURCE_SYSTEM = "https://yilian.dev/fhir/sid/result-source"
_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def _result_base(row: Any, resource_type: str, *, item_name: str, loinc: str, mpi_id: str) -> dict[str, Any]:
    """What an Observation and a DiagnosticReport of a stored result share: id, source identifier,
    status, the regional item code (and LOINC), subject, time and performing institution."""
    coding = [{"system": REGIONAL_ITEM_SYSTEM, "code": row.item_code, "display": item_name}]
    if loinc:
        coding.append({"system": LOINC, "code": loinc})
    return {
        "resourceType": resource_type,
        "id": str(row.id),
        "identifier": [{"system": _RESULT_SOURCE_SYSTEM, "value": row.source_key}],
        "status": _STATUS_OUT[row.status],  # a StrEnum key: the stored text finds it
        "code": {"coding": coding, "text": item_name},
        "subject": {"reference": f"Patient/{mpi_id}"},
        "effectiveDateTime": instant(row.observed_at),
        "performer": [{"reference": f"Organization/{row.institution_id}"}],
    }


def observation_resource(row: Any, *, item_name: str, loinc: str, mpi_id: str) -> dict[str, Any]:
    """Return a FHIR Observation of a stored result (the shape fhir.resources validates)."""
    body = _result_base(row, "Observation", item_name=item_name, loinc=loinc, mpi_id=mpi_id)
    category = "laboratory" if row.kind == "lab" else "imaging"
    body["category"] = [{"coding": [{"system": _OBSERVATION_CATEGORY, "code": category}]}]
    if row.value_num is not None:
        body["valueQuantity"] = {"value": row.value_num, "unit": row.unit}
    elif row.value_text or row.report_text:
        body["valueString"] = row.value_text or row.report_text
    if row.reference_range:
        body["referenceRange"] = [{"text": row.reference_range}]
    if row.abnormal_flag:
        body["interpretation"] = [{"coding": [{"system": _INTERPRETATION_SYSTEM, "code": row.abnormal_flag}]}]
    return body


def imaging_study_resource(row: Any, *, mpi_id: str, modality: str) -> dict[str, Any]:
    """Return a FHIR ImagingStudy of a stored imaging result (the shape fhir.resources validates)."""
    body = {
        "resourceType": "ImagingStudy",
        "id": str(row.id),
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{row.study_uid}"}],
        "status": "available",
        "subject": {"reference": f"Patient/{mpi_id}"},
        "started": instant(row.observed_at),
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": modality}],
    }
    if row.report_text:  # an empty description is not valid FHIR
        body["description"] = row.report_text[:200]
    return body


DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"


def diagnostic_report_resource(
    row: Any, *, item_name: str, loinc: str, mpi_id: str, issued: datetime | None = None
) -> dict[str, Any]:
    """Return the FHIR DiagnosticReport of a stored result (the shape fhir.resources validates).

    The registry keeps one report per stored result: a lab report (category LAB) whose ``result`` is the
    result's Observation, or an imaging report (category RAD) with the report text as ``conclusion``, the
    ImagingStudy referenced when the study UID is known.
    """
    imaging = row.kind != "lab"
    body = _result_base(row, "DiagnosticReport", item_name=item_name, loinc=loinc, mpi_id=mpi_id)
    body |= {
        "category": [
            {
                "coding": [
                    {
                        "system": DIAGNOSTIC_SERVICE,
                        "code": "RAD" if imaging else "LAB",
                        "display": "影像" if imaging else "检验",
                    }
                ]
            }
        ],
        "issued": instant(issued or row.received_at),
    }
    if imaging:
        if row.report_text:
            body["conclusion"] = row.report_text[:2000]
        if row.study_uid:
            body["imagingStudy"] = [{"reference": f"ImagingStudy/{row.id}"}]
    else:
        body["result"] = [{"reference": f"Observation/{row.id}"}]
        if row.report_text:
            body["conclusion"] = row.report_text[:2000]
    return body


def searchset(
    resources: list[dict[str, Any]], total: int, included: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Return a searchset Bundle (the shape fhir.resources validates: no empty ``entry``)."""
    entry = [
        {"resource": r, "fullUrl": f"{r['resourceType']}/{r['id']}", "search": {"mode": "match"}}
        for r in resources
    ] + [
        {"resource": r, "fullUrl": f"{r['resourceType']}/{r['id']}", "search": {"mode": "include"}}
        for r in included or []
    ]
    body: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total}
    if entry:
        body["entry"] = entry
    return body


def outcome(status: int, code: str, text: str) -> dict[str, Any]:
    """Return an OperationOutcome for an error."""
    issue = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict"}.get(
        status, "processing"
    )
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": issue, "diagnostics": text, "details": {"text": code}}],
    }
