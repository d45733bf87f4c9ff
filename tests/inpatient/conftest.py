"""Fixtures of the inpatient tests: the hospital with a bed pool (built in helpers.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.inpatient.helpers import Pool, make_pool


@pytest.fixture
def pool(session: Session) -> Pool:
    return make_pool(session)
