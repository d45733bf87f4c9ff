"""Fixtures of the results tests: the world of ``tests/results/world.py``."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.results.world import World, make_world


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)
