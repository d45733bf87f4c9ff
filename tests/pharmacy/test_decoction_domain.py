"""The decoction state machine and its timing rules with a moved clock, and the day's batch plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yilian.catalog.herb_domain import FormulaClass
from yilian.outpatient.herbal_domain import (
    MAIN_LINE,
    TRANSITIONS,
    HerbalState,
    InvalidHerbal,
    TransitionRefused,
    check_transition,
    check_volume,
)
from yilian.pharmacy.decoction_domain import (
    Job,
    check_finish,
    check_rest_added,
    check_soak_done,
    fcfs,
    machine_minutes,
    plan,
)

S = HerbalState
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_main_line_steps_are_allowed_in_order() -> None:
    for a, b in zip(MAIN_LINE, MAIN_LINE[1:], strict=False):
        check_transition(a, b)


@pytest.mark.parametrize("current", list(HerbalState))
@pytest.mark.parametrize("target", list(HerbalState))
def test_every_pair_allowed_or_refused_with_reason(current: HerbalState, target: HerbalState) -> None:
    if target in TRANSITIONS[current] and not (current is S.TO_CHECK and target is S.TO_PACK):
        check_transition(current, target)
    else:
        with pytest.raises(TransitionRefused) as refused:
            check_transition(current, target)
        assert refused.value.detail.startswith(("不能从", "该处方"))


def test_skipped_step_refused() -> None:
    with pytest.raises(TransitionRefused, match="不能从“待泡药”直接到“煎药中”"):
        check_transition(S.TO_SOAK, S.DECOCTING)


def test_without_decoction_check_goes_to_packing() -> None:
    check_transition(S.TO_CHECK, S.TO_PACK, decoct=False)
    with pytest.raises(TransitionRefused, match="不代煎"):
        check_transition(S.TO_CHECK, S.TO_SOAK, decoct=False)
    with pytest.raises(TransitionRefused, match="先泡药"):
        check_transition(S.TO_CHECK, S.TO_PACK, decoct=True)


def test_qc_failure_rework_or_scrap() -> None:
    check_transition(S.TO_QC, S.TO_DECOCT)
    check_transition(S.TO_QC, S.SCRAPPED)
    with pytest.raises(TransitionRefused):
        check_transition(S.SCRAPPED, S.TO_DECOCT)


def test_soak_of_twenty_minutes_cannot_move_on() -> None:
    with pytest.raises(TransitionRefused, match="已泡 20 分钟"):
        check_soak_done(T0, m(20))
    check_soak_done(T0, m(30))


def test_first_boiled_herbs_thirty_minutes_before_the_rest() -> None:
    with pytest.raises(TransitionRefused, match="先煎"):
        check_rest_added(T0, m(29))
    check_rest_added(T0, m(30))


@pytest.mark.parametrize(
    ("formula", "ok", "short", "long"),
    [
        (FormulaClass.GENERAL, 25, 19, 31),
        (FormulaClass.EXTERIOR, 15, 14, 21),
        (FormulaClass.TONIC, 60, 39, 61),
    ],
)
def test_boil_time_by_formula_class(formula: FormulaClass, ok: int, short: int, long: int) -> None:
    kw = {"late_added": None, "has_late": False, "has_first": False, "rest_added": None}
    check_finish(formula, boil_from=T0, now=m(ok), **kw)  # type: ignore[arg-type]
    with pytest.raises(TransitionRefused, match="仅"):
        check_finish(formula, boil_from=T0, now=m(short), **kw)  # type: ignore[arg-type]
    with pytest.raises(TransitionRefused, match="超时"):
        check_finish(formula, boil_from=T0, now=m(long), **kw)  # type: ignore[arg-type]


def test_late_herbs_five_to_ten_minutes_before_the_end() -> None:
    def finish(late: datetime | None) -> None:
        check_finish(
            FormulaClass.GENERAL,
            boil_from=T0,
            now=m(25),
            late_added=late,
            has_late=True,
            has_first=False,
            rest_added=None,
        )

    finish(m(17))
    finish(m(20))
    for wrong in (m(10), m(22)):
        with pytest.raises(TransitionRefused, match="后下"):
            finish(wrong)
    with pytest.raises(TransitionRefused, match="尚未加入"):
        finish(None)


def test_first_herbs_need_the_rest_recorded() -> None:
    with pytest.raises(TransitionRefused, match="下其余药"):
        check_finish(
            FormulaClass.GENERAL,
            boil_from=T0,
            now=m(25),
            late_added=None,
            has_late=False,
            has_first=True,
            rest_added=None,
        )


@pytest.mark.parametrize(
    ("ml", "child", "ok"),
    [
        (400, False, True),
        (600, False, True),
        (399, False, False),
        (601, False, False),
        (100, True, True),
        (300, True, True),
        (400, True, False),
        (99, True, False),
    ],
)
def test_final_volume(ml: int, child: bool, ok: bool) -> None:
    if ok:
        check_volume(ml, child=child)
    else:
        with pytest.raises(InvalidHerbal, match="ml"):
            check_volume(ml, child=child)


def test_machine_minutes() -> None:
    assert machine_minutes(FormulaClass.GENERAL, has_first=False) == 30 + 20 + 15
    assert machine_minutes(FormulaClass.TONIC, has_first=True) == 30 + 60 + 40 + 15
    assert machine_minutes(FormulaClass.GENERAL, has_first=False, paste=True) == 240


def test_plan_meets_promises_fcfs_does_not() -> None:
    # one machine; a long job came first with a late promise, two short urgent ones after it
    jobs = [Job(1, 0, 120, 600), Job(2, 5, 30, 60), Job(3, 10, 30, 90)]
    p = plan(jobs, [1])
    f = fcfs(jobs, [1])
    assert p.on_time_share == 1.0 and p.late == []
    assert [s.job_id for s in p.slots] == [2, 3, 1]
    assert f.late == [2, 3]


def test_plan_with_more_work_than_machine_hours_warns_and_keeps_the_rest_on_time() -> None:
    # two machines, 8 h; twenty 65-minute jobs all promised by 4 h: 2 × 3 fit, the rest are late
    jobs = [Job(i, 0, 65, 240) for i in range(20)]
    p = plan(jobs, [1, 2])
    assert sum(s.on_time for s in p.slots) == 6
    assert len(p.late) == 14
    # no machine runs two at once
    for machine in (1, 2):
        runs = sorted((s.start, s.end) for s in p.slots if s.machine == machine)
        assert all(a[1] <= b[0] for a, b in zip(runs, runs[1:], strict=False))
    assert all(s.start >= 0 for s in p.slots)


def test_hopeless_job_does_not_delay_others() -> None:
    jobs = [Job(1, 0, 100, 50), Job(2, 0, 30, 60), Job(3, 0, 30, 70)]
    p = plan(jobs, [1])
    assert p.late == [1]
    assert {s.job_id for s in p.slots if s.on_time} == {2, 3}


def test_ready_time_respected() -> None:
    p = plan([Job(1, 100, 30, 500)], [1])
    assert p.slots[0].start == 100
