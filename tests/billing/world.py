"""A small clinic world for billing tests: a tertiary hospital, a catalogue, policies, a doctor."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tests.builders import (
    actor_of,
    make_department,
    make_institution,
    make_practitioner,
    make_user,
)
from yilian.catalog import service as catalog
from yilian.insurance import policy_service as insurance
from yilian.kit.auth.domain import Actor, Role
from yilian.registry.models import Department, Institution

ITEMS = (
    "code,kind,name,spec,unit,price_yuan,insurance_class,self_pay_ratio\n"
    "250301001000000,lab,葡萄糖测定（血糖）,,项,5.00,甲,\n"
    "250301003000000,lab,糖化血红蛋白测定,,项,60.00,乙,0.1\n"
    "XA10BAM039A001010100001,drug,盐酸二甲双胍片,0.5g*48片,盒,12.80,乙,0.1\n"
    "210300001000000,exam,胸部CT平扫,,次,240.00,乙,0.1\n"
    "340200009000000,treatment,医疗美容咨询,,次,300.00,丙,\n"
)


@dataclass
class World:
    hospital: Institution
    department: Department
    doctor: Actor
    nurse: Actor


def seed_policies(session: Session, year: int = 2026) -> None:
    """Example Nantong policy rows (test values)."""
    insurance.set_policy_table(
        session,
        [
            ("employee", "tertiary", 80_000, 600, 400_000),
            ("employee", "secondary", 80_000, 700, 400_000),
            ("employee", "primary", 30_000, 800, 400_000),
            ("resident", "tertiary", 50_000, 500, 150_000),
            ("resident", "secondary", 30_000, 550, 150_000),
            ("resident", "primary", 10_000, 650, 150_000),
        ],
        region_code="320600",
        visit_type="outpatient",
        year=year,
    )


def make_world(session: Session) -> World:
    """The clinic world in ``session``: catalogue, policies, a hospital, a department, a doctor, a nurse."""
    catalog.import_items(session, ITEMS)
    seed_policies(session)
    hospital = make_institution(session)
    department = make_department(session, institution=hospital)
    practitioner = make_practitioner(session, institution=hospital, department=department)
    doctor = actor_of(make_user(session, role=Role.DOCTOR, institution=hospital, practitioner=practitioner))
    nurse = actor_of(make_user(session, role=Role.NURSE, institution=hospital))
    return World(hospital, department, doctor, nurse)
