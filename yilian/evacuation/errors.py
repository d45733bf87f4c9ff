"""Typed errors of the evacuation area (Chinese titles, stable English codes)."""

from __future__ import annotations

from yilian.kit.errors import Conflict, Forbidden, InvalidInput, NotFound


class BuildingInvalid(InvalidInput):
    """A building document that breaks the model's rules; ``problems`` lists every reason in Chinese."""

    code = "building_invalid"
    title = "建筑模型不合法"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems[:20]), problems=problems)
        self.problems = problems


class BuildingNotFound(NotFound):
    code = "building_not_found"
    title = "建筑不存在"


class EventNotFound(NotFound):
    code = "evacuation_event_not_found"
    title = "疏散事件不存在"


class InvalidHazard(InvalidInput):
    code = "invalid_hazard"
    title = "火警事件不合法"


class EventClosed(Conflict):
    code = "evacuation_event_closed"
    title = "疏散事件已结束"


class EvacuationForbidden(Forbidden):
    code = "evacuation_forbidden"
    title = "无权进行疏散指挥操作"


class ReplayNotFound(NotFound):
    code = "evacuation_replay_not_found"
    title = "演练回放不存在"
