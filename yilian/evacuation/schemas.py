"""API shapes of fire evacuation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from yilian.kit.bounds import Id


class BuildingImport(BaseModel):
    institution_id: Id
    campus_id: Id | None = None
    document: dict[str, Any] = Field(description="建筑模型文档（见 docs/evacuation.md）")


class BuildingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    institution_id: int
    campus_id: int | None
    code: str
    name: str
    version: int
    wards: dict[str, int | None]
    updated_at: datetime


class EventStart(BaseModel):
    kind: str = Field("drill", description="alarm（火警）| drill（演练）")
    hour: int | None = Field(None, ge=0, le=23, description="估计在场人员所用的钟点（默认当前）")
    origin: str | None = Field(None, description="演练的起火空间；给出时按演练脚本报告火情与烟气")


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    building_id: int
    kind: str
    status: str
    hour: int
    started_at: datetime
    closed_at: datetime | None
    revision: int


class HazardReport(BaseModel):
    kind: str = Field(
        description="fire | smoke | clear | door_closed | door_open | stair_lost | stair_restored"
    )
    target: str = Field(description="空间、门或楼梯的编码")
    at: float | None = Field(None, ge=0, le=7 * 86_400, description="事件时钟上的秒数（默认现在）")
    source: str = Field("alarm", description="alarm（火灾报警系统）| command（指挥中心）| drill")
    detector: str = ""


class MobilitySet(BaseModel):
    mobility: str = Field(description="ambulatory | wheelchair | bedridden | life_support")


class ReplayRequest(BaseModel):
    floor: int | None = Field(None, ge=-5, le=200, description="只回放该楼层的受威胁人员（默认全部）")


class ReplayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    floor: int | None
    status: str = Field(description="pending | running | done | failed")
    requested_at: datetime
    requested_by: str
    finished_at: datetime | None
    error: str
    plan_seconds: float | None = Field(None, description="方案：JuPedSim 中最后一人安全的时间（秒）")
    nearest_seconds: float | None = Field(None, description="就近出口：同上（秒）")
    persons: int


class ReplayDocument(ReplayRead):
    document: dict[str, Any] = Field(
        description="every（采样间隔秒）、duration、floors、threatened、runs：plan / nearest 各自的 "
        "agents（id、bed、t0、p=[[楼层, x, y], …] 每秒一点，米）与 safe（每秒累计安全人数）"
    )
