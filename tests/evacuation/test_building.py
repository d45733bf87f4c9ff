"""The building document: the generated ward building is valid; broken documents are refused in Chinese."""

from __future__ import annotations

import copy

import pytest

from yilian.evacuation.domain import Graph, parse_building, unreachable_spaces
from yilian.evacuation.errors import BuildingInvalid
from yilian.evacuation.generator import ward_building


def _problems(doc: dict) -> list[str]:
    with pytest.raises(BuildingInvalid) as info:
        parse_building(doc)
    assert info.value.problem()["title"] == "建筑模型不合法"
    return info.value.problems


def test_generated_ward_building_is_valid_and_real_sized() -> None:
    b = parse_building(ward_building())
    assert b.floors == tuple(range(1, 13))
    assert len(b.compartments) == 24
    assert {s.code for s in b.stairs} == {"S1", "S2"}
    refuges = [s for s in b.spaces.values() if s.kind == "refuge"]
    assert len(refuges) == 24 and all(s.area >= 25 for s in refuges)
    wards = {s.ward for s in b.spaces.values() if s.ward}
    assert len(wards) == 12
    assert sum(s.beds for s in b.spaces.values()) == 12 * 24 * 3
    assert unreachable_spaces(b) == []
    assert len(b.exits) == 2


def test_open_polygon_is_refused() -> None:
    doc = ward_building(floors=2)
    space = doc["floors"][1]["compartments"][0]["spaces"][3]
    space["polygon"] = space["polygon"][:-1]
    problems = _problems(doc)
    assert any("多边形未闭合" in p and space["code"] in p for p in problems)


def test_door_to_nowhere_is_refused() -> None:
    doc = ward_building(floors=2)
    doc["doors"].append(
        {"code": "X1", "between": ["2F-A-C", "NOWHERE"], "width": 1.0, "at": [[6, 7.5], [7, 7.5]]}
    )
    assert any("门 X1 通向不存在的空间：NOWHERE" in p for p in _problems(doc))


def test_door_off_the_shared_wall_is_refused() -> None:
    doc = ward_building(floors=2)
    door = next(d for d in doc["doors"] if d["code"] == "2F-201-D")
    door["at"] = [[door["at"][0][0], 3.0], [door["at"][1][0], 3.0]]
    assert any("门 2F-201-D 不在" in p and "共用墙上" in p for p in _problems(doc))


def test_unreachable_room_is_refused() -> None:
    doc = ward_building(floors=2)
    doc["doors"] = [d for d in doc["doors"] if d["code"] != "2F-203-D"]
    assert "空间 2F-203 无法到达任何安全出口" in _problems(doc)


def test_small_refuge_room_and_missing_exit_are_refused() -> None:
    doc = ward_building(floors=2)
    refuge = doc["floors"][1]["compartments"][0]["spaces"][2]
    assert refuge["kind"] == "refuge"
    x0, y0 = refuge["polygon"][0]
    refuge["polygon"] = [[x0, y0], [x0 + 5, y0], [x0 + 5, y0 + 4], [x0, y0 + 4], [x0, y0]]
    refuge["code"] = "2F-A-R"
    broken = copy.deepcopy(doc)
    for f in broken["floors"]:
        for c in f["compartments"]:
            c["spaces"] = [s for s in c["spaces"] if s["kind"] != "exit"]
    problems = _problems(broken)
    assert any("避难间 2F-A-R 面积 20.0 m² 小于 25 m²" == p for p in problems)
    assert "建筑没有安全出口" in problems


def test_graph_drops_lost_stairs_and_never_enters_fire() -> None:
    from yilian.evacuation.domain import HazardState

    b = parse_building(ward_building(floors=3))
    hz = HazardState(fire=frozenset({"2F-201"}), lost_stairs=frozenset({"S2"}))
    g = Graph.of(b, hz)
    assert not any(e.stair == "S2" for e in g.edges)
    assert not any(e.v == "2F-201" for e in g.edges)
    assert any(e.u == "2F-201" for e in g.edges)
    smoky = Graph.of(b, HazardState(smoke=frozenset({"2F-S1"})))
    assert not any(e.stair == "S1" for e in smoky.edges)
