"""Fixtures of the billing tests: the clinic world of ``tests/billing/world.py``."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.billing.world import World, make_world


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)
