"""The life of a herbal prescription (中药处方) from review to the patient's door (DOMAIN §9), pure.

States 待审方 → 待调配 → 待复核 → 待泡药 → 泡药中 → 待煎药 → 煎药中 → 待包装 → 待贴标 → 待质检 →
待配送 → 配送中 → 已签收; a prescription without decoction goes from 待复核 straight to 待包装; a
QC failure sends it back to 待煎药 (rework) or to 已报废; review may return it to the doctor
(已退回), who fixes it and sends it again; before dispensing it may be cancelled (已取消)."""

from __future__ import annotations

from enum import StrEnum

from yilian.kit.errors import Conflict, InvalidInput


class HerbalKind(StrEnum):
    DECOCTION = "汤剂"  # ordinary herbal prescription (饮片 / 代煎)
    PASTE = "膏方"


class HerbalState(StrEnum):
    PENDING_REVIEW = "待审方"
    RETURNED = "已退回"
    TO_DISPENSE = "待调配"
    TO_CHECK = "待复核"
    TO_SOAK = "待泡药"
    SOAKING = "泡药中"
    TO_DECOCT = "待煎药"
    DECOCTING = "煎药中"
    TO_PACK = "待包装"
    TO_LABEL = "待贴标"
    TO_QC = "待质检"
    TO_DELIVER = "待配送"
    DELIVERING = "配送中"
    SIGNED = "已签收"
    SCRAPPED = "已报废"
    CANCELLED = "已取消"


S = HerbalState

# the floor's main line, in order (the patient's tracking page shows it)
MAIN_LINE: tuple[HerbalState, ...] = (
    S.PENDING_REVIEW,
    S.TO_DISPENSE,
    S.TO_CHECK,
    S.TO_SOAK,
    S.SOAKING,
    S.TO_DECOCT,
    S.DECOCTING,
    S.TO_PACK,
    S.TO_LABEL,
    S.TO_QC,
    S.TO_DELIVER,
    S.DELIVERING,
    S.SIGNED,
)

TRANSITIONS: dict[HerbalState, frozenset[HerbalState]] = {
    S.PENDING_REVIEW: frozenset({S.TO_DISPENSE, S.RETURNED, S.CANCELLED}),
    S.RETURNED: frozenset({S.PENDING_REVIEW, S.CANCELLED}),
    S.TO_DISPENSE: frozenset({S.TO_CHECK, S.CANCELLED}),
    S.TO_CHECK: frozenset({S.TO_SOAK, S.TO_PACK}),
    S.TO_SOAK: frozenset({S.SOAKING}),
    S.SOAKING: frozenset({S.TO_DECOCT}),
    S.TO_DECOCT: frozenset({S.DECOCTING}),
    S.DECOCTING: frozenset({S.TO_PACK}),
    S.TO_PACK: frozenset({S.TO_LABEL}),
    S.TO_LABEL: frozenset({S.TO_QC}),
    S.TO_QC: frozenset({S.TO_DELIVER, S.TO_DECOCT, S.SCRAPPED}),
    S.TO_DELIVER: frozenset({S.DELIVERING}),
    S.DELIVERING: frozenset({S.SIGNED}),
    S.SIGNED: frozenset(),
    S.SCRAPPED: frozenset(),
    S.CANCELLED: frozenset(),
}

EDITABLE = frozenset({S.PENDING_REVIEW, S.RETURNED})
CANCELLABLE = frozenset({S.PENDING_REVIEW, S.RETURNED, S.TO_DISPENSE})


class TransitionRefused(Conflict):
    code = "herbal_transition_refused"
    title = "中药处方状态流转不允许"


class InvalidHerbal(InvalidInput):
    code = "invalid_herbal_prescription"
    title = "中药处方内容不合法"


def check_transition(current: HerbalState, target: HerbalState, *, decoct: bool = True) -> None:
    """Raise ``TransitionRefused`` with the Chinese reason unless ``current → target`` is allowed."""
    if target not in TRANSITIONS[current]:
        raise TransitionRefused(f"不能从“{current.value}”直接到“{target.value}”")
    if current is S.TO_CHECK and target is S.TO_SOAK and not decoct:
        raise TransitionRefused("该处方不代煎，复核后直接包装")
    if current is S.TO_CHECK and target is S.TO_PACK and decoct:
        raise TransitionRefused("该处方需代煎，复核后应先泡药")
    if current is S.TO_QC and target is S.TO_DECOCT and not decoct:
        raise TransitionRefused("不代煎的处方不能返工重煎")


def volume_range(child: bool) -> tuple[int, int]:
    """Final volume per dose (每剂), ml: adult 400–600, child 100–300."""
    return (100, 300) if child else (400, 600)


def check_volume(volume_ml: int, *, child: bool) -> None:
    low, high = volume_range(child)
    if not low <= volume_ml <= high:
        who = "儿童" if child else "成人"
        raise InvalidHerbal(f"{who}每剂煎出量应为 {low}–{high} ml，当前 {volume_ml} ml")
