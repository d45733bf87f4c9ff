"""Mapping between the NHSA-3101-style payload and claim lines / findings."""

from __future__ import annotations

from datetime import date

from yilian.insurance.audit.domain import ClaimLine, Stage
from yilian.insurance.audit.errors import ClaimFileInvalid
from yilian.insurance.audit.schemas import JudgeDetail, JudgeResult, PatientDto, PrecheckRequest
from yilian.insurance.audit.service import FindingView

INSUTYPES = {"310": "employee", "320": "employee", "340": "employee", "390": "resident", "391": "resident"}
PRE_SCENES = {"1", "2", "3", "4", "5"}


def stage_of(trig_scen: str) -> Stage:
    """Scenes 1-5 (registration, fee entry, order execution) are 事前;
    6-9 (pre-settlement, settlement) 事中."""
    return Stage.PRE if trig_scen in PRE_SCENES else Stage.IN


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ClaimFileInvalid(f"日期 {text!r} 应为 yyyy-MM-dd") from exc


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def to_lines(body: PrecheckRequest) -> tuple[list[ClaimLine], list[ClaimLine], dict[int, str]]:
    """The current encounter's lines, the patient's other encounters' lines, and line id → rx_id."""
    patient: PatientDto = body.patient_dtos[0]
    current: list[ClaimLine] = []
    history: list[ClaimLine] = []
    rx_of: dict[int, str] = {}
    found = False
    for enc in patient.fsi_encounter_dtos:
        admit = _day(enc.adm_date)
        discharge = _day(enc.dscg_date) if enc.dscg_date else admit
        if discharge < admit:
            raise ClaimFileInvalid(f"就诊 {enc.mdtrt_id} 出院日期早于入院日期")
        is_current = enc.mdtrt_id == patient.curr_mdtrt_id
        found = found or is_current
        for order in enc.fsi_order_dtos:
            line_id = len(rx_of) + 1
            rx_of[line_id] = order.rx_id
            line = ClaimLine(
                line_id=line_id,
                claim_id=enc.mdtrt_id,
                patient_id=patient.patn_id,
                sex="M" if patient.gend == "1" else "F",
                age=_age(patient.brdy, admit),
                scheme=INSUTYPES.get(enc.insutype, "self_pay"),
                level=enc.medins_lv,
                setting="inpatient" if enc.med_mdtrt_type == "2" else "outpatient",
                diagnosis=enc.dscg_main_dise_codg,
                admit_date=admit,
                discharge_date=discharge,
                service_date=_day(order.drord_begn_date) if order.drord_begn_date else admit,
                item_code=order.hilist_code,
                quantity=order.cnt,
                unit_price=order.pric,
                amount=order.sumamt if order.sumamt is not None else order.cnt * order.pric,
            )
            (current if is_current else history).append(line)
    if not found:
        raise ClaimFileInvalid(f"curr_mdtrt_id {patient.curr_mdtrt_id} 不在 fsi_encounter_dtos 中")
    return current, history, rx_of


def to_results(
    body: PrecheckRequest, views: list[FindingView], lines: list[ClaimLine], rx_of: dict[int, str]
) -> list[JudgeResult]:
    patient = body.patient_dtos[0]
    by_id = {line.line_id: line for line in lines}
    out = []
    for n, v in enumerate(views, start=1):
        details = [
            JudgeDetail(
                jr_detl_id=f"{n}-{k}",
                patn_id=patient.patn_id,
                mdtrt_id=v.claim_id,
                rx_id=rx_of.get(line_id, ""),
                hilist_code=by_id[line_id].item_code if line_id in by_id else "",
                vola_amt=by_id[line_id].amount if line_id in by_id else 0,
            )
            for k, line_id in enumerate(v.lines, start=1)
        ]
        out.append(
            JudgeResult(
                jr_id=f"{body.task_id or 'T'}-{n}",
                rule_id=v.rule_id,
                rule_name=v.family_label,
                vola_cont=v.text,
                patn_id=patient.patn_id,
                mdtrt_id=v.claim_id,
                vola_amt=v.amount,
                sev_deg="1" if v.severity == "violation" else "2",
                sev_deg_name=v.severity_label,
                stage=v.stage,
                vola_evid={
                    "value": v.value,
                    "rx_ids": [rx_of.get(i, "") for i in v.lines],
                    "related": list(v.related),
                },
                judge_result_detail_dtos=details,
            )
        )
    return out
