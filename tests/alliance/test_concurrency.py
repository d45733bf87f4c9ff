"""A public rush and referral bookings at once on one 20-place slot with 4 places reserved, real commits,
own session per thread: never overbooked, the reserve used only by referrals, the public gets the rest."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from tests.alliance.world import CLINIC_DAY, make_world
from tests.builders import make_patient
from tests.dbutil import fresh_database
from tests.scheduling.helpers import patient_actor
from yilian.alliance import service
from yilian.alliance.models import SlotReserve
from yilian.kit import clock, migrate
from yilian.kit.db import build_engine, unit_of_work
from yilian.kit.errors import YilianError
from yilian.scheduling import service as scheduling
from yilian.scheduling.models import Booking, Slot

PUBLIC = 60
REFERRALS = 8
CAPACITY = 20
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"


def test_public_rush_and_referrals_never_overbook() -> None:
    fc = clock.FrozenClock(clock.local_datetime(CLINIC_DAY.replace(day=7), scheduling.PERIOD_TIMES["am"][0]))
    with clock.use_clock(fc), fresh_database("alliance") as url:
        engine = (
            build_engine(url, pool_size=10, max_overflow=20, pool_timeout=120)
            if "postgresql" in url
            else build_engine(url)
        )
        try:
            migrate.upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            with unit_of_work(factory) as s:
                w = make_world(s, capacity=CAPACITY)
                slot_id = scheduling.slots(s, w.schedule.id)[0].id
                assert service.reserve_places(s, start=CLINIC_DAY, end=CLINIC_DAY).reserved_places == 4
                public = [
                    make_patient(s, name=SURNAMES[i % 20] + "某" + SURNAMES[i // 20]).id
                    for i in range(PUBLIC)
                ]
                referral_ids = []
                for i in range(REFERRALS):
                    p = make_patient(s, name=SURNAMES[i] + "转诊", institution=w.member)
                    r = w.refer_up(s, patient_id=p.id)
                    service.accept(s, w.desk, r.id)
                    referral_ids.append(r.id)
                desk = w.desk
            barrier = threading.Barrier(PUBLIC + REFERRALS, timeout=120)

            def public_attempt(pid: int) -> str:
                barrier.wait()
                try:
                    with unit_of_work(factory) as s:
                        scheduling.book(s, patient_actor(pid), slot_id=slot_id, patient_id=pid)
                    return "public"
                except YilianError:
                    return "full"

            def referral_attempt(rid: int) -> str:
                barrier.wait()
                try:
                    with unit_of_work(factory) as s:
                        r = service.book(s, desk, rid, slot_id)
                        return "reserve" if r.used_reserve else "public"
                except YilianError:
                    return "full"

            with ThreadPoolExecutor(max_workers=PUBLIC + REFERRALS) as pool:
                futures = [pool.submit(public_attempt, p) for p in public]
                futures += [pool.submit(referral_attempt, r) for r in referral_ids]
                outcomes = [f.result() for f in futures]
            public_out, referral_out = outcomes[:PUBLIC], outcomes[PUBLIC:]
            assert referral_out.count("reserve") == 4  # every reserved place went to a referral
            assert public_out.count("public") + referral_out.count("public") == CAPACITY - 4
            with unit_of_work(factory) as s:
                slot = s.get(Slot, slot_id)
                booked = s.scalar(select(func.count()).select_from(Booking).where(Booking.slot_id == slot_id))
                reserve = s.get(SlotReserve, slot_id)
                assert slot is not None and slot.booked == CAPACITY == booked
                assert reserve is not None and reserve.used == 4 and reserve.released_at is None
        finally:
            engine.dispose()
