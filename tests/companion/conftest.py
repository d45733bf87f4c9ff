"""Fixtures of the companion tests: the clinic day of ``tests/companion/world.py``."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.companion.world import World, make_world
from yilian.kit import clock


@pytest.fixture
def world(session: Session, frozen_clock: clock.FrozenClock) -> World:
    return make_world(session)
