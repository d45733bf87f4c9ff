"""Request and response bodies of the analytics API."""

from __future__ import annotations

from pydantic import BaseModel


class IndicatorRead(BaseModel):
    code: str
    name: str
    formula: str
    unit: str
    source: str
    topic: str
    grains: list[str]
    times: list[str]
    target: str
    available: bool


class FigureRead(BaseModel):
    code: str
    name: str
    value: float | int | None
    text: str
    before: float | int | None
    change_percent: float | None


class FiguresRead(BaseModel):
    first: str
    last: str
    institution_id: int | None
    figures: list[FigureRead]


class RowRead(BaseModel):
    key: int
    label: str
    value: float | int | None
    text: str


class RefreshRead(BaseModel):
    first_month: str
    last_month: str
    rows: int
    milliseconds: int
