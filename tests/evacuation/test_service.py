"""Buildings, the census, events and plans against the real database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.builders import actor_of, make_user
from tests.evacuation.hospital import Hospital
from yilian.evacuation import service
from yilian.evacuation.errors import BuildingInvalid, EvacuationForbidden, InvalidHazard
from yilian.evacuation.generator import ward_building
from yilian.evacuation.models import EvacBuilding
from yilian.kit.auth.domain import Role


def test_building_tied_to_inpatient_wards(session: Session, hosp: Hospital) -> None:
    assert set(hosp.building.wards) == {f"W{f:02d}" for f in range(1, 9)}
    assert all(ward_id for ward_id in hosp.building.wards.values())


def test_occupants_from_the_live_census(session: Session, hosp: Hospital) -> None:
    people = service.occupants(session, hosp.building, hour=16)
    patients = [o for o in people if o.kind == "patient"]
    assert len(patients) == hosp.admitted == 2 * 24 * 3 // 2
    assert {o.mobility for o in patients} == {"ambulatory", "bedridden", "wheelchair", "life_support"}
    assert {o.space[:2] for o in patients} == {"6F", "7F"}
    staff = [o for o in people if o.kind == "staff"]
    assert len(staff) == 8 * 5  # evening shift, every ward of the building
    visitors = [o for o in people if o.kind == "visitor"]
    per_room: dict[str, int] = {}
    for o in patients:
        per_room[o.space] = per_room.get(o.space, 0) + 1
    assert len(visitors) == sum(round(n * 1.0) for n in per_room.values())  # 16:00 → one per patient
    night = service.occupants(session, hosp.building, hour=3)
    assert sum(o.kind == "visitor" for o in night) < len(visitors)


def test_invalid_import_changes_nothing(session: Session, hosp: Hospital) -> None:
    doc = ward_building(floors=2, code="BAD")
    doc["doors"].append(
        {"code": "X", "between": ["1F-A-C", "nowhere"], "width": 1, "at": [[6, 7.5], [7, 7.5]]}
    )
    with pytest.raises(BuildingInvalid) as info:
        service.import_building(session, hosp.admin, hosp.hospital.id, doc)
    assert "门 X 通向不存在的空间：nowhere" in info.value.problems
    assert session.query(EvacBuilding).filter_by(code="BAD").count() == 0


def test_drill_plan_and_replan_on_a_lost_stair(session: Session, hosp: Hospital) -> None:
    event = service.start_drill(session, hosp.security, hosp.building.id, "6F-603", hour=10)
    view = service.current_plan(session, hosp.security, event.id)
    doc = view.summary()
    assert doc["threatened"] == ["6F-A"]
    assert doc["hazards"]["fire"] == ["6F-603"]
    assert doc["counts"]["move"] > 0 and doc["counts"]["evacuate"] > 0
    assert doc["compartments"]["6F-B"].keys() == {"stay"}
    s1 = next(f for f in doc["flows"] if f["code"] == "S1")
    assert s1["persons"] > 0
    service.report_hazard(session, hosp.security, event.id, "stair_lost", "S1")
    after = service.current_plan(session, hosp.security, event.id).summary()
    assert after["revision"] == doc["revision"] + 1
    assert "S1" not in {f["code"] for f in after["flows"]}
    s2 = next(f for f in after["flows"] if f["code"] == "S2")
    assert s2["persons"] == doc["counts"]["evacuate"]
    tasks = [t for s in after["staff"] for t in s["tasks"]]
    assert all(t["destination"].startswith("6F-B") for t in tasks)


def test_hazards_are_checked_and_need_command(session: Session, hosp: Hospital) -> None:
    event = service.start_event(session, hosp.security, hosp.building.id, kind="alarm")
    with pytest.raises(InvalidHazard) as info:
        service.report_hazard(session, hosp.security, event.id, "stair_lost", "S9")
    assert info.value.detail == "楼梯 S9 不存在"
    nurse = actor_of(make_user(session, role=Role.NURSE, institution=hosp.hospital))
    with pytest.raises(EvacuationForbidden):
        service.report_hazard(session, nurse, event.id, "fire", "6F-601")
    service.current_plan(session, nurse, event.id)  # a nurse reads the plan
