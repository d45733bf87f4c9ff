"""HTTP API of the catalogue under /api/v1/catalog."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, UploadFile

from yilian.catalog import service
from yilian.catalog.domain import ItemKind
from yilian.catalog.schemas import CatalogItemRead, DiagnosisRead, ImportReport
from yilian.kit.auth.deps import AreaRouter, SessionDep, require
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.paging import Page, PagingDep
from yilian.kit.textfile import decode_text

router = AreaRouter(prefix="/api/v1/catalog", tags=["目录"])

Reader = Annotated[Actor, require(Permission.REGISTRY_READ)]
Manager = Annotated[Actor, require(Permission.REGISTRY_MANAGE)]


@router.get("/items", response_model=Page[CatalogItemRead], summary="收费项目与药品目录")
def items(
    session: SessionDep,
    _actor: Reader,
    paging: PagingDep,
    q: Annotated[str, Query(max_length=50, description="名称或编码前缀")] = "",
    kind: ItemKind | None = None,
) -> Page[CatalogItemRead]:
    rows, total = service.search_items(session, q=q, kind=kind.value if kind else None, **paging.model_dump())
    return Page(items=[CatalogItemRead.model_validate(r) for r in rows], total=total, **paging.model_dump())


@router.get("/items/{code}", response_model=CatalogItemRead, summary="收费项目详情")
def item(code: str, session: SessionDep, _actor: Reader) -> CatalogItemRead:
    return CatalogItemRead.model_validate(service.get_item(session, code))


CodeQuery = Annotated[str, Query(max_length=50, description="编码前缀、名称或拼音首字母")]


def _code_page(found: tuple[list[Any], int], paging: Any) -> Page[DiagnosisRead]:
    rows, total = found
    return Page(items=[DiagnosisRead.model_validate(r) for r in rows], total=total, **paging.model_dump())


@router.get("/diagnoses", response_model=Page[DiagnosisRead], summary="ICD-10 诊断目录")
def diagnoses(
    session: SessionDep, _actor: Reader, paging: PagingDep, q: CodeQuery = ""
) -> Page[DiagnosisRead]:
    return _code_page(service.search_diagnoses(session, q=q, **paging.model_dump()), paging)


@router.get("/procedures", response_model=Page[DiagnosisRead], summary="ICD-9-CM-3 手术操作目录")
def procedures(
    session: SessionDep, _actor: Reader, paging: PagingDep, q: CodeQuery = ""
) -> Page[DiagnosisRead]:
    return _code_page(service.search_procedures(session, q=q, **paging.model_dump()), paging)


async def _text(upload: UploadFile) -> str:
    return decode_text(await upload.read())


@router.post("/items/import", response_model=ImportReport, summary="导入收费目录 (CSV)")
async def import_items(
    file: UploadFile, session: SessionDep, _actor: Manager, partial: bool = False
) -> ImportReport:
    """Import a catalogue CSV; with a bad row nothing is stored unless ``partial``."""
    return service.import_items(session, await _text(file), partial=partial)


@router.post("/diagnoses/import", response_model=ImportReport, summary="导入 ICD-10 诊断目录 (CSV)")
async def import_diagnoses(
    file: UploadFile, session: SessionDep, _actor: Manager, partial: bool = False
) -> ImportReport:
    return service.import_diagnoses(session, await _text(file), partial=partial)
