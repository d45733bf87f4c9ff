"""Paging of list endpoints."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from yilian.kit.bounds import MAX_INT

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list and the total number of matching rows."""

    items: list[T]
    total: int
    offset: int
    limit: int


class Paging(BaseModel):
    offset: int = 0
    limit: int = 50


def _paging(
    offset: Annotated[int, Query(ge=0, le=MAX_INT, description="跳过的条数")] = 0,
    limit: Annotated[int, Query(ge=1, le=200, description="每页条数")] = 50,
) -> Paging:
    return Paging(offset=offset, limit=limit)


PagingDep = Annotated[Paging, Depends(_paging)]
