"""Fixtures of the DRG tests: the CHS-DRG 1.1 scheme built from the tables shipped in the package."""

from __future__ import annotations

import pytest

from yilian.drg import importer
from yilian.drg.domain import Grouper, Scheme


@pytest.fixture(scope="session")
def texts() -> dict[str, str]:
    """The tables shipped in the package (the 1.1 publication and its OR list)."""
    return importer.read_texts(importer.packaged_dir())


@pytest.fixture(scope="session")
def parsed(texts: dict[str, str]) -> tuple[Scheme, importer.ParseReport]:
    return importer.build_scheme("chs-1.1", texts)


@pytest.fixture(scope="session")
def scheme(parsed: tuple[Scheme, importer.ParseReport]) -> Scheme:
    return parsed[0]


@pytest.fixture(scope="session")
def grouper(scheme: Scheme) -> Grouper:
    return Grouper(scheme)
