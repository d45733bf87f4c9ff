"""Real HTTP across two server processes: a relative streams from one, the patient revokes on the other;
the next event is not delivered and the stream ends saying why. Resume after a disconnect delivers the
missed lines once, in order. Runs on SQLite and PostgreSQL (YILIAN_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import PASSWORD, SYSTEM, make_department, make_institution, make_patient, make_user
from tests.companion.world import relate
from tests.dbutil import fresh_database
from yilian.kit import db, events
from yilian.kit.auth.domain import Role
from yilian.kit.clock import business_date
from yilian.registry.domain import RelationType, Sex
from yilian.scheduling import service as scheduling
from yilian.scheduling.models import Slot

ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str], dict[str, Any]]]:
    var = tmp_path_factory.mktemp("companion")
    with fresh_database("companion") as url:
        env = {
            **os.environ,
            "YILIAN_DATABASE_URL": url,
            "YILIAN_VAR_DIR": str(var),
            "YILIAN_DISPATCH_INTERVAL_SECONDS": "0.2",
            "YILIAN_JOBS_ENABLED": "false",
        }
        subprocess.run(
            [sys.executable, "-m", "yilian", "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        engine = db.build_engine(url)
        with Session(engine) as s:
            inst = make_institution(s, level=3)
            dept = make_department(s, institution=inst)
            girl = make_patient(
                s, name="林小满", birth_date=date(2014, 3, 2), sex=Sex.FEMALE, institution=inst
            )
            father = make_patient(s, name="林建国", birth_date=date(1984, 8, 9), institution=inst)
            relate(s, girl, father, RelationType.PARENT)
            day = business_date() + timedelta(days=1)
            sched = scheduling.create_schedule(s, SYSTEM, department_id=dept.id, day=day, period="am")
            slot = s.scalars(select(Slot).where(Slot.schedule_id == sched.id).order_by(Slot.start)).first()
            assert slot is not None
            b = scheduling.book(s, SYSTEM, slot_id=slot.id, patient_id=girl.id, channel="desk")
            scheduling.confirm(s, SYSTEM, b.id)
            users = {
                "girl": make_user(s, role=Role.PATIENT, patient=girl).username,
                "dad": make_user(s, role=Role.FAMILY, patient=father).username,
            }
            facts = {"girl": girl.id, "father": father.id, "booking": b.id, "users": users, "engine": engine}
            s.commit()
        procs, bases = [], []
        for i in range(2):
            port = _port()
            log = open(var / f"server{i}.log", "w")  # noqa: SIM115
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "yilian", "serve", "--port", str(port)],
                    env=env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=log,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        try:
            for base, proc in zip(bases, procs, strict=True):
                for _ in range(120):
                    try:
                        if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    assert proc.poll() is None, (var / "server0.log").read_text()[-2000:]
                    time.sleep(0.5)
            yield url, bases, facts
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
            engine.dispose()


def _login(base: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _emit(engine: Any, topic: str, payload: dict[str, Any]) -> None:
    with Session(engine) as s:
        events.emit(s, topic, payload)
        s.commit()


class Follower(threading.Thread):
    """Reads an SSE stream into a queue of (event, data, id) until the stream ends or ``stop`` is set."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.got: queue.Queue[tuple[str, dict[str, Any], str | None]] = queue.Queue()
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.stream("GET", self.url, headers=self.headers, timeout=30) as r:
            fields: dict[str, str] = {}
            for line in r.iter_lines():
                if self.stop.is_set():
                    return
                if not line:
                    if "event" in fields:
                        self.got.put((fields["event"], json.loads(fields["data"]), fields.get("id")))
                        if fields["event"] == "ended":
                            return
                    fields = {}
                elif not line.startswith(":") and ": " in line:
                    k, v = line.split(": ", 1)
                    fields[k] = v

    def next(self, timeout: float = 15) -> tuple[str, dict[str, Any], str | None]:
        return self.got.get(timeout=timeout)


def test_stream_resume_and_revocation_across_two_servers(
    two_servers: tuple[str, list[str], dict[str, Any]],
) -> None:
    _url, (a, b), f = two_servers
    engine = f["engine"]
    girl_b = _login(b, f["users"]["girl"])
    dad_a = _login(a, f["users"]["dad"])
    body = {
        "patient_id": f["girl"],
        "relative_id": f["father"],
        "visit_kind": "booking",
        "visit_id": f["booking"],
        "results": True,
    }
    r = httpx.post(f"{b}/api/v1/companion/follows", json=body, headers=girl_b, timeout=10)
    assert r.status_code == 201, r.text
    stream_url = f"{a}/api/v1/companion/follows/{r.json()['id']}/stream"
    revoke_url = f"{b}/api/v1/companion/follows/{r.json()['id']}/revoke"
    follower = Follower(stream_url, dad_a)
    follower.start()
    time.sleep(1.0)
    _emit(engine, "results.received", {"result_ids": [1], "patient_ids": [f["girl"]]})
    event, data, first_id = follower.next()
    assert event == "line" and data["text"] == "女儿的 1 项检查检验结果已出，可在报告中查看"
    # disconnect; two events while away; reconnect from the last id: both once, in order
    follower.stop.set()
    _emit(engine, "results.received", {"result_ids": [1, 2], "patient_ids": [f["girl"]]})
    _emit(engine, "billing.arrears_opened", {"patient_id": f["girl"], "amount": 500})  # 费用 not granted
    _emit(engine, "results.received", {"result_ids": [1, 2, 3], "patient_ids": [f["girl"]]})
    time.sleep(2.0)  # the dispatchers turn them into lines meanwhile
    again = Follower(stream_url, {**dad_a, "Last-Event-ID": str(first_id)})
    again.start()
    texts = [again.next()[1]["text"] for _ in range(2)]
    assert texts == [
        "女儿的 2 项检查检验结果已出，可在报告中查看",
        "女儿的 3 项检查检验结果已出，可在报告中查看",
    ]
    # revoked on the other server: the next event is not delivered, the stream ends saying why
    assert httpx.post(revoke_url, headers=girl_b, timeout=10).status_code == 200
    _emit(engine, "results.received", {"result_ids": [9], "patient_ids": [f["girl"]]})
    event, data, _ = again.next()
    assert event == "ended" and data["reason"] == "revoked" and "撤销" in data["label"]
    again.join(5)
    assert again.got.empty()
    # a forged token: 401 problem+json, nothing streamed
    r = httpx.get(stream_url, headers={"Authorization": "Bearer forged"}, timeout=10)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
