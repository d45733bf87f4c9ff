"""Fixtures of the evacuation tests: the hospital of ``tests/evacuation/hospital.py``."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.evacuation.hospital import Hospital, make_hospital


@pytest.fixture
def hosp(session: Session) -> Hospital:
    return make_hospital(session)
