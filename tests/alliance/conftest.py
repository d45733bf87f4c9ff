"""Fixtures of the alliance tests: the alliance world of ``tests/alliance/world.py``."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.alliance.world import World, make_world
from yilian.kit import clock


@pytest.fixture
def world(session: Session, frozen_clock: clock.FrozenClock) -> World:
    return make_world(session)
