"""Background work of fire evacuation: drill replays (演练回放). A replay asked for on the command
centre starts at once in a thread of the server (``start``); the scheduled job picks up any replay
still pending (a server restarted in between). A replay is claimed before it is made, so only one
process makes it."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from yilian.evacuation import service
from yilian.kit import jobs
from yilian.kit.db import session_factory

log = logging.getLogger("yilian.evacuation")

BACKGROUND = True  # tests that make replays themselves turn the thread off


def make_replay(factory: sessionmaker[Session], replay_id: int) -> bool:
    """Claim (and commit), simulate outside any transaction, store: False if not pending."""
    with factory() as session:
        if not service.claim_replay(session, replay_id):
            return False
        session.commit()
        data = service.replay_input(session, replay_id)
    try:
        doc, error = service.simulate_replay(data), ""
    except Exception as exc:  # the simulator failed: kept on the row, shown on the page
        log.exception("drill replay %s failed", replay_id)
        doc, error = None, f"模拟失败：{type(exc).__name__}: {exc}"
    with factory() as session:
        service.store_replay(session, replay_id, doc, error)
        session.commit()
    return True


def start(replay_id: int, *, wait: float = 10.0) -> threading.Thread | None:
    """Make the replay in a background thread (once the request that asked for it has committed)."""
    if not BACKGROUND:
        return None

    def work() -> None:
        factory = session_factory()
        deadline = time.monotonic() + wait
        while True:
            try:
                if make_replay(factory, replay_id) or time.monotonic() > deadline:
                    return
            except Exception:  # pragma: no cover - logged, left pending for the job
                log.exception("drill replay %s failed", replay_id)
                return
            time.sleep(0.2)

    thread = threading.Thread(target=work, name=f"evac-replay-{replay_id}", daemon=True)
    thread.start()
    return thread


@jobs.job("evacuation.replays", every_seconds=60, description="生成排队中的演练回放")
def pending_replays(factory: sessionmaker[Session], now: datetime) -> str:
    with factory() as session:
        todo = service.pending_replays(session)
    made = sum(1 for replay_id in todo if make_replay(factory, replay_id))
    return f"生成演练回放 {made} 个"
