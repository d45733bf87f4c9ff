"""Indicators on Spark: the demo alliance (small, with its referrals and expert sittings) plus a community centre with results prompts, a
grassroots visit and decoctions (the demo has none), exported with ``yilian export`` and evaluated by
Spark through the same ``service.collect`` (its area queries compiled to Spark SQL) gives exactly the
facts and distinct keys of the in-database refresh, hence the same indicator values; the CLI
(``yilian analytics refresh --engine spark``) writes those facts as Parquet."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.builders import make_department, make_institution, make_patient
from yilian.alliance.models import Network, Referral
from yilian.analytics import service
from yilian.analytics import spark as on_spark
from yilian.analytics.cli import app
from yilian.analytics.domain import MEASURES, Month
from yilian.drg.models import DrgCase
from yilian.insurance.audit.models import AuditFinding
from yilian.kit.clock import UTC, business_date, local_datetime
from yilian.kit.export import export_parquet
from yilian.outpatient.herbal_models import HerbalPrescription
from yilian.outpatient.models import Encounter
from yilian.pharmacy.decoction_models import DecoctionRun
from yilian.registry.domain import InstitutionCategory
from yilian.results.models import Prompt, RecognitionDecision

REGION = "320600"
# measures the demo and the additions below leave empty (pre-admission needs the bed office's flow)
NOT_SEEDED = {"preadmissions", "preadmission_days_saved"}


def _community_centre(session: Session) -> None:
    """Visits, results prompts (recognised, refused, undecided), decoctions (on time, late) and
    referrals at a community centre, in this month and the last."""
    centre = make_institution(
        session, name="测试社区中心", category=InstitutionCategory.COMMUNITY_CENTRE, level=1
    )
    dept = make_department(session, institution=centre, name="全科")
    pat = make_patient(session).id
    today = business_date()
    for n, day in enumerate((today, today - timedelta(days=3), today - timedelta(days=35))):
        at = datetime(day.year, day.month, day.day, 1, tzinfo=UTC)
        enc = Encounter(
            patient_id=pat,
            institution_id=centre.id,
            department_id=dept.id,
            business_date=day,
            status="closed",
            opened_at=at,
        )
        session.add(enc)
        session.flush()
        for decision, saved in (("互认", 3000 + n), ("不互认", 0), ("", 0)):
            p = Prompt(
                patient_id=pat,
                institution_id=centre.id,
                department_id=dept.id,
                item_code="HBA1C",
                business_date=day,
                candidate_ids="1",
                created_at=at,
            )
            session.add(p)
            session.flush()
            if decision:
                session.add(
                    RecognitionDecision(prompt_id=p.id, decision=decision, fee_saved_fen=saved, decided_at=at)
                )
        for late in (False, True):
            rx = HerbalPrescription(
                encounter_id=enc.id,
                institution_id=centre.id,
                patient_id=pat,
                kind="汤剂",
                formula_class="普通",
                doses=7,
                decoct=True,
                bag_ml=200,
                bags_per_dose=2,
                status="done",
                track_token=f"spark-{enc.id}-{int(late)}",
                created_at=at,
                updated_at=at,
                promised_at=at + timedelta(hours=6),
            )
            session.add(rx)
            session.flush()
            session.add(
                DecoctionRun(prescription_id=rx.id, finished_at=at + timedelta(hours=8 if late else 4))
            )
    # up-referrals from the centre to the demo's lead hospital (the small demo has few) and one down,
    # either side of midnight in Beijing: the request's local day decides the month on both engines
    net = session.scalars(select(Network).order_by(Network.id)).first()
    assert net is not None
    for n, (day, hour) in enumerate(
        (
            (today, day_time(0, 10)),
            (today - timedelta(days=3), day_time(23, 50)),
            (today - timedelta(days=35), day_time(9)),
            (today - timedelta(days=35), day_time(9)),
        )
    ):
        instant = local_datetime(day, hour)
        session.add(
            Referral(
                network_id=net.id,
                direction="down" if n == 3 else "up",
                kind="chronic" if n == 3 else "outpatient",
                state="requested",
                patient_id=pat,
                from_institution_id=net.lead_institution_id if n == 3 else centre.id,
                to_institution_id=centre.id if n == 3 else net.lead_institution_id,
                to_department_id=dept.id if n == 3 else None,
                diagnosis="高血压",
                reason="测试",
                created_by="test",
                requested_at=instant,
                answer_due_at=instant,
            )
        )
    for finding in session.scalars(select(AuditFinding).order_by(AuditFinding.id).limit(3)):
        finding.status = "confirmed"
    session.flush()


def test_indicators_on_spark_equal_the_database(spark: Any, session: Session, tmp_path: Path) -> None:
    from yilian.demo.alliance import seed

    t0 = time.perf_counter()
    seed(session, patients=20)
    _community_centre(session)
    this = Month.of(business_date())
    # from the demo's first DRG discharges (a fixed month) to this month: every measure has figures
    first = max(Month.of(session.scalar(select(func.min(DrgCase.discharge_date)))), this.shift(-35))
    print(f"seeded in {time.perf_counter() - t0:.1f} s; months {first}–{this}")
    in_db = service.collect(session, first, this)
    measured = {m for _, m in in_db.sums} | {m for _, m, _ in in_db.keys}
    assert set(MEASURES) - NOT_SEEDED <= measured, set(MEASURES) - measured  # not a comparison of nothing

    export = tmp_path / "export"
    counts = export_parquet(session, export, REGION)
    assert counts["encounters"] > 0 and counts["herbal_prescriptions"] == 6
    assert counts["alliance_referrals"] > 0 and counts["alliance_sittings"] > 0
    started = time.perf_counter()
    on_spark.register_views(spark, str(export), REGION)
    evaluated = on_spark.collect(spark, first, this)
    print(f"indicators on Spark: {len(in_db.sums)} facts in {time.perf_counter() - started:.1f} s")
    assert dict(evaluated.sums) == dict(in_db.sums)
    assert evaluated.keys == in_db.keys
    alliance = ("referrals_up", "referrals_down", "referrals_up_received", "expert_sitting_days")
    assert all(sum(v for (_k, m), v in evaluated.sums.items() if m == a) > 0 for a in alliance)

    # the indicator values: from the Spark collection (domain.value) = the dashboards' after a refresh
    service.refresh(session, first, this, trigger="test")
    by_institution = service.values(session, first, this, group="institution")
    for m in (this.shift(-1), this):
        assert on_spark.city_values(evaluated, m, business_date()) == service.values(session, m, m)[None]
    # --load: Spark's collection stored as a refresh reads back as the database refresh did
    assert service.refresh(session, first, this, trigger="spark", collected=evaluated).rows > 0
    assert service.values(session, first, this, group="institution") == by_institution

    print(f"compared in {time.perf_counter() - started:.1f} s")
    # the CLI writes the refresh's rows of a month as Parquet (the export holds one city: no --region)
    out = tmp_path / "facts"
    result = CliRunner().invoke(
        app,
        [
            "refresh",
            "--engine",
            "spark",
            "--from",
            str(export),
            "--master",
            "local[2]",
            "--first",
            str(this),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    facts = [r for r in service.fact_rows(in_db)[0] if r["month"] == this.first]
    key = ("month", "institution_id", "department_id", "measure")
    assert on_spark.read_facts(out) == sorted(facts, key=lambda r: tuple(r[k] for k in key))
    assert "病床使用率" in result.output
    print(f"CLI done in {time.perf_counter() - started:.1f} s")
    wrong = CliRunner().invoke(
        app,
        ["refresh", "--engine", "spark", "--from", str(export), "--region", "999999", "--first", str(this)],
    )
    assert wrong.exit_code == 2 and "no city 999999" in wrong.output
