"""Pure rules of outpatient orders: kinds and the lifecycle of an order."""

from __future__ import annotations

from enum import StrEnum

from yilian.outpatient.errors import IllegalTransition


class EncounterStatus(StrEnum):
    OPEN = "open"  # 就诊中
    CLOSED = "closed"  # 已结束


class OrderKind(StrEnum):
    DRUG = "drug"  # 处方
    LAB = "lab"  # 检验
    EXAM = "exam"  # 检查
    TREATMENT = "treatment"  # 治疗

    @property
    def label(self) -> str:
        return {"drug": "处方", "lab": "检验", "exam": "检查", "treatment": "治疗"}[self.value]


class OrderStatus(StrEnum):
    PLACED = "placed"  # 开立
    CHARGED = "charged"  # 计费
    PERFORMED = "performed"  # 执行 / 发药
    COMPLETED = "completed"  # 完成
    CANCELLED = "cancelled"  # 撤销

    @property
    def label(self) -> str:
        return {
            "placed": "已开立",
            "charged": "已计费",
            "performed": "已执行",
            "completed": "已完成",
            "cancelled": "已撤销",
        }[self.value]


_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PLACED: frozenset({OrderStatus.CHARGED, OrderStatus.CANCELLED}),
    OrderStatus.CHARGED: frozenset({OrderStatus.PERFORMED, OrderStatus.CANCELLED}),
    OrderStatus.PERFORMED: frozenset({OrderStatus.COMPLETED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Refuse a status change the lifecycle does not allow (e.g. cancelling what was performed)."""
    if target not in _NEXT[current]:
        raise IllegalTransition(f"医嘱当前为“{current.label}”，不能改为“{target.label}”")


def refundable_on_cancel(status: OrderStatus) -> bool:
    """Tell whether cancelling an order in ``status`` refunds what was charged (charged, not performed)."""
    return status is OrderStatus.CHARGED


def line_amount(unit_price: int, quantity: int) -> int:
    """Return the amount of an order line in fen."""
    if quantity <= 0 or quantity > 999:
        raise ValueError("quantity must be 1..999")
    if unit_price < 0:
        raise ValueError("unit price must not be negative")
    return unit_price * quantity
