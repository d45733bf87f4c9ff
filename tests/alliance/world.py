"""A small alliance for the tests: a lead hospital with a clinic and a community centre with a doctor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from tests.builders import SYSTEM, make_department, make_institution, make_patient, make_practitioner
from yilian.alliance import service
from yilian.alliance.domain import AllianceKind, ReferralKind
from yilian.alliance.models import Network, Referral
from yilian.alliance.schemas import MemberAdd, NetworkCreate, ReferralCreate
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Role
from yilian.registry.domain import InstitutionCategory
from yilian.registry.models import Department, Institution, Patient, Practitioner
from yilian.scheduling import service as scheduling
from yilian.scheduling.models import Schedule

CLINIC_DAY = date(2026, 5, 11)  # a Monday; frozen_clock is 2026-05-07 09:00 Asia/Shanghai


def staff(role: Role, institution: Institution, practitioner: Practitioner | None = None) -> Actor:
    return Actor(
        user_id=None,
        username=f"{role.value}{institution.id}",
        role=role,
        display_name=f"测试{role.label}",
        institution_id=institution.id,
        practitioner_id=practitioner.id if practitioner else None,
        permissions=ROLE_PERMISSIONS[role],
    )


@dataclass
class World:
    network: Network
    lead: Institution
    member: Institution
    outsider: Institution
    dept: Department
    expert: Practitioner
    gp: Practitioner
    patient: Patient
    schedule: Schedule
    gp_actor: Actor
    desk: Actor
    specialist: Actor

    def refer_up(self, session: Session, **changes: object) -> Referral:
        data = {
            "patient_id": self.patient.id,
            "kind": ReferralKind.OUTPATIENT,
            "to_institution_id": self.lead.id,
            "to_department_id": self.dept.id,
            "diagnosis_code": "E11.9",
            "diagnosis": "2型糖尿病",
            "reason": "血糖控制不佳，需专科调整方案",
            "summary": "空腹血糖 11.2 mmol/L",
        } | changes
        return service.create_referral(session, self.gp_actor, ReferralCreate.model_validate(data))


def make_world(session: Session, *, capacity: int = 20) -> World:
    lead = make_institution(session, name="测试医联总院", level=3)
    member = make_institution(
        session, name="测试城东社区", category=InstitutionCategory.COMMUNITY_CENTRE, level=1
    )
    outsider = make_institution(session, name="联盟外医院", level=2)
    dept = make_department(session, institution=lead, name="内分泌科")
    expert = make_practitioner(session, institution=lead, department=dept, name="王专家")
    gp = make_practitioner(session, institution=member, name="刘全科")
    patient = make_patient(session, name="赵秀英", institution=member)
    network = service.create_network(
        session,
        SYSTEM,
        NetworkCreate(name=f"测试医联体{lead.id}", kind=AllianceKind.CITY, lead_institution_id=lead.id),
    )
    service.add_member(session, SYSTEM, network.id, MemberAdd(institution_id=member.id))
    sched = scheduling.create_schedule(
        session,
        SYSTEM,
        department_id=dept.id,
        day=CLINIC_DAY,
        period="am",
        clinic_type="expert",
        practitioner_id=expert.id,
        slice_minutes=210,
        slice_capacity=capacity,
    )
    return World(
        network,
        lead,
        member,
        outsider,
        dept,
        expert,
        gp,
        patient,
        sched,
        staff(Role.DOCTOR, member, gp),
        staff(Role.REGISTRAR, lead),
        staff(Role.DOCTOR, lead, expert),
    )
