"""FastAPI app factory: API routers of every area, problem+json errors, health check and the UI."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from yilian import __version__
from yilian.areas import area_modules, load_models
from yilian.kit import db
from yilian.kit.auth import api as auth_api
from yilian.kit.clock import FileClock, set_clock
from yilian.kit.events import Dispatcher
from yilian.kit.jobs import JobRunner
from yilian.kit.problems import install_handlers
from yilian.kit.settings import get_settings

log = logging.getLogger("yilian")


OPENAPI_URL = "/api/openapi.json"
DOCS_ASSETS = "/api/docs-assets"


# the docs pages load nothing from another host (ReDoc's attribution logo would come from its CDN)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:"
)


def _same_origin(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


def _mount_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /api/docs and ReDoc at /api/redoc from the installed ``fastapi_offline``
    assets (no CDN), and send ``/openapi.json`` (and ``/docs``) to the real places."""
    import fastapi_offline

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="api-docs-assets")

    @app.get("/api/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _same_origin(
            get_swagger_ui_html(
                openapi_url=OPENAPI_URL,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            )
        )

    @app.get("/api/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _same_origin(
            get_redoc_html(
                openapi_url=OPENAPI_URL,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_moved() -> RedirectResponse:
        return RedirectResponse(OPENAPI_URL, status_code=308)

    @app.get("/docs", include_in_schema=False)
    def docs_moved() -> RedirectResponse:
        return RedirectResponse("/api/docs", status_code=308)


def _build_route_contexts(app: FastAPI) -> None:
    """Build FastAPI's per-route contexts of every included router now, at startup. FastAPI (0.16x)
    builds them lazily, all routes of a router at once, on the first request that reaches the router;
    a worker's first requests then waited for it (seconds of CPU under the 07:00 booking rush). A
    FastAPI without these methods is left to build them as it does."""
    for route in app.router.routes:
        for name in ("effective_route_contexts", "effective_low_priority_routes"):
            build = getattr(route, name, None)
            if callable(build):
                for _context in build():
                    pass


_heap_frozen = False


def _freeze_startup_heap() -> None:
    """Move what startup built (modules, mappers, route contexts, the pinyin dictionaries: some 550,000
    objects) out of reach of Python's cyclic garbage collector, once per process. A full collection
    walks all of them: 240 ms, during which the worker answers nothing (a p99 spike in a rush). The
    garbage of startup is collected first, so only live objects are kept."""
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    gc.collect()
    gc.freeze()


def create_app(*, with_ui: bool = True, dispatcher: bool = True) -> FastAPI:
    """Build the application: ``with_ui`` mounts the NiceGUI pages, ``dispatcher`` delivers events."""
    load_models()
    clock_file = get_settings().clock_file
    if clock_file is not None:
        log.warning("clock read from %s (training/test mode)", clock_file)
        set_clock(FileClock(clock_file))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settings = get_settings()
        worker = Dispatcher(db.session_factory(), settings.dispatch_interval_seconds) if dispatcher else None
        runner = None
        if dispatcher and settings.jobs_enabled:
            area_modules("tasks")  # areas register their scheduled jobs there
            runner = JobRunner(db.session_factory(), settings.jobs_interval_seconds)
        for background in (worker, runner):
            if background is not None:
                background.start()
        _build_route_contexts(_app)
        _freeze_startup_heap()
        try:
            yield
        finally:
            for background in (runner, worker):
                if background is not None:
                    background.stop()

    app = FastAPI(
        title="yilian 医联 API",
        version=__version__,
        description=(
            "区域智慧医疗平台接口。错误以 RFC 9457 problem+json 返回："
            "title 为中文说明，code 为稳定的英文代码。"
        ),
        lifespan=lifespan,
        # FastAPI's OpenTelemetry hooks: yilian configures no exporter (a hospital intranet), and with
        # them on every request looked up the global providers (a tenth of the event loop's CPU)
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # served below from the installed assets: no CDN on a hospital intranet
        redoc_url=None,
        openapi_url=OPENAPI_URL,
    )
    install_handlers(app)
    _mount_api_docs(app)
    app.include_router(auth_api.router)
    app.include_router(auth_api.web_router)
    for module in area_modules("api"):
        for router in getattr(module, "routers", [getattr(module, "router", None)]):
            if router is not None:
                app.include_router(router)

    @app.get("/healthz", tags=["运维"], summary="健康检查")
    def healthz() -> JSONResponse:
        body: dict[str, Any] = {"status": "ok", "version": __version__}
        try:
            with db.get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            body["database"] = db.get_engine().dialect.name
        except Exception as exc:  # report, don't crash the probe
            body.update(status="degraded", database_error=str(exc)[:200])
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    if with_ui:
        from yilian.web import shell

        shell.mount(app, area_modules("pages"))
    return app
