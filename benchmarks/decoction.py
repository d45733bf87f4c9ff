"""The day's decoction batch plan (煎药排程) against first-come-first-served on the same day.

5,000 prescriptions approved over the day (08:00–20:00 by default) go onto 60 machines. Each is ready
for a machine after dispensing, checking and a 30-minute soak (60 min after approval); it takes the
machine for its formula class's two decoctions (``machine_minutes``: 先煎 first, plus setup), a 膏方
for 4 h; it must finish 2 h before its promised time (packing, QC, delivery), the promise being 24 h
after approval by default, 4–8 h for urgent ones, 72 h for 膏方. Prints the share on time under the
plan and under FCFS and the planning time; last line one JSON object.

    python benchmarks/decoction.py [--prescriptions 5000] [--machines 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import time

from yilian.catalog.herb_domain import FormulaClass
from yilian.pharmacy.decoction_domain import Job, fcfs, machine_minutes, plan

DELIVERY_MIN = 120
READY_AFTER_MIN = 60


def day(count: int, seed: int, spread_hours: int) -> list[Job]:
    rnd = random.Random(seed)
    classes = list(FormulaClass)
    jobs = []
    for i in range(count):
        approved = rnd.randrange(spread_hours * 60)
        kind = rnd.random()
        if kind < 0.05:
            minutes, promise_h = machine_minutes(FormulaClass.TONIC, has_first=False, paste=True), 72
        else:
            minutes = machine_minutes(rnd.choice(classes), has_first=rnd.random() < 0.2)
            promise_h = rnd.randint(4, 8) if kind < 0.2 else 24
        jobs.append(Job(i, approved + READY_AFTER_MIN, minutes, approved + promise_h * 60 - DELIVERY_MIN))
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prescriptions", type=int, default=5000)
    parser.add_argument("--machines", type=int, default=60)
    parser.add_argument("--spread-hours", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    jobs = day(args.prescriptions, args.seed, args.spread_hours)
    machines = list(range(1, args.machines + 1))
    work = sum(j.minutes for j in jobs)
    started = time.perf_counter()
    planned = plan(jobs, machines)
    plan_seconds = time.perf_counter() - started
    first_come = fcfs(jobs, machines)
    print(
        f"{len(jobs)} 张处方，{len(machines)} 台煎药机，共需机时 {work / 60:.0f} 小时；"
        f"排程准时 {planned.on_time_share:.1%}，先到先煎准时 {first_come.on_time_share:.1%}，"
        f"排程耗时 {plan_seconds:.3f} 秒"
    )
    print(
        json.dumps(
            {
                "prescriptions": len(jobs),
                "machines": len(machines),
                "machine_hours_needed": round(work / 60),
                "late_warnings": len(planned.late),
                "on_time_share": round(planned.on_time_share, 4),
                "fcfs_on_time_share": round(first_come.on_time_share, 4),
                "plan_seconds": round(plan_seconds, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
