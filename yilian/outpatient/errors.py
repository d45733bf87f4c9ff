"""Typed errors of outpatient care."""

from __future__ import annotations

from yilian.kit.errors import Conflict, InvalidInput, NotFound


class EncounterNotFound(NotFound):
    code = "encounter_not_found"
    title = "就诊记录不存在"


class EncounterClosed(Conflict):
    code = "encounter_closed"
    title = "就诊已结束"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "医嘱不存在"


class InvalidOrder(InvalidInput):
    code = "invalid_order"
    title = "医嘱不合法"


class IllegalTransition(Conflict):
    code = "illegal_order_transition"
    title = "医嘱状态不允许此操作"
