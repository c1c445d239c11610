"""The Vibes HTTP API as a Starlette application (served by uvicorn, see ``__main__``).

    GET  /health                       database, Alembic revision, id mode, maintenance flag,
                                       release (null outside a release build)
    POST /admin/maintenance/enable     admin token (Authorization: Bearer or X-Admin-Token)
    POST /admin/maintenance/disable
    POST /api/v1/auth/login            {"email", "password"} -> bearer token (user_sessions)
    POST /api/v1/journals              {"title", "content", "mood"?} for the token's user
    GET  /api/v1/journals?limit=N      the token's user's journals, newest first
    GET  /api/v1/users/{id}            one user; an id of the other id mode is a 404
    GET  /metrics                      requests and errors by endpoint and status, the process's
                                       CPU and memory (Prometheus text format, see metrics.py)

While maintenance is on, everything but /health, /metrics and /admin/* answers 503 with Retry-After,
except to an operator whose request carries the admin token in X-Admin-Token.
Errors are JSON: {"error": ..., "detail": ...}; a database that cannot be reached is a 503, a
statement that fails (a table missing under the service, say) a 500 with one log line.
"""
from __future__ import annotations

import hmac
import json
import logging
import secrets
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rollbook_vibes.api import store
from rollbook_vibes.api.config import Settings
from rollbook_vibes.api.maintenance import MaintenanceFlag
from rollbook_vibes.api.metrics import (
    METRICS_PATH,
    REFUSED_FOR_MAINTENANCE,
    CountRequests,
    Metrics,
)
from rollbook_vibes.api.passwords import burn_time, verify_password

log = logging.getLogger("rollbook_vibes.api")

POOL_TIMEOUT_S = 5.0
HEALTH_DB_TIMEOUT_S = 2.0
STATEMENT_TIMEOUT_MS = 10_000
EXEMPT_FROM_MAINTENANCE = ("/health", METRICS_PATH, "/admin/")
MAX_LIMIT = 200


class MaintenanceGate:
    """ASGI middleware: 503 + Retry-After for every non-admin path but /health while on.

    An operator's request that carries the admin token in X-Admin-Token passes: the runbook
    tests the API (login, journals) before it switches maintenance off.
    """

    def __init__(self, app, flag: MaintenanceFlag, retry_after_s: int, admin_token: str | None):
        self.app, self.flag, self.retry_after_s = app, flag, retry_after_s
        self.admin_token = admin_token.encode() if admin_token else None

    def _operator(self, scope) -> bool:
        given = dict(scope["headers"]).get(b"x-admin-token")
        return bool(self.admin_token and given
                    and hmac.compare_digest(given, self.admin_token))

    async def __call__(self, scope, receive, send):
        if (scope["type"] == "http" and not scope["path"].startswith(EXEMPT_FROM_MAINTENANCE)
                and self.flag.enabled() and not self._operator(scope)):
            scope[REFUSED_FOR_MAINTENANCE] = True
            response = JSONResponse(
                {"error": "maintenance", "detail": "Vibes is in maintenance; retry later."},
                status_code=503, headers={"Retry-After": str(self.retry_after_s)})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Api:
    """The endpoints, bound to one configuration, connection pool and maintenance flag."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.mode = settings.id_mode
        self.flag = MaintenanceFlag(settings.maintenance_file)
        self.pool = AsyncConnectionPool(
            settings.dsn, min_size=1, max_size=settings.pool_max, open=False,
            timeout=POOL_TIMEOUT_S, name="vibes-api", check=AsyncConnectionPool.check_connection,
            kwargs={"autocommit": True, "application_name": "vibes-api",
                    "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"})

    # -- health and admin ----------------------------------------------------------------
    async def health(self, request: Request) -> JSONResponse:
        body: dict[str, Any] = {
            "status": "ok", "database_reachable": False, "alembic_revision": None,
            "expected_revision": self.settings.expected_revision, "id_mode": self.mode,
            "maintenance": self.flag.enabled(), "maintenance_since": self.flag.since(),
            "release": self.settings.release}
        try:
            async with self.pool.connection(timeout=HEALTH_DB_TIMEOUT_S) as conn:
                body["alembic_revision"] = await store.revision(conn)
            body["database_reachable"] = True
        except (PoolTimeout, psycopg.Error) as exc:
            body.update(status="unavailable", database_error=_first_line(exc))
            return JSONResponse(body, status_code=503)
        if body["alembic_revision"] != body["expected_revision"]:
            body["status"] = "wrong_revision"
            return JSONResponse(body, status_code=503)
        if body["maintenance"]:
            body["status"] = "maintenance"
        return JSONResponse(body)

    async def maintenance_enable(self, request: Request) -> JSONResponse:
        self._require_admin(request)
        since = self.flag.enable()
        log.info("maintenance mode on (since %s)", since)
        return JSONResponse({"maintenance": True, "since": since})

    async def maintenance_disable(self, request: Request) -> JSONResponse:
        self._require_admin(request)
        self.flag.disable()
        log.info("maintenance mode off")
        return JSONResponse({"maintenance": False, "since": None})

    def _require_admin(self, request: Request) -> None:
        expected = self.settings.admin_token
        if not expected:
            raise HTTPException(403, "admin endpoints are disabled: VIBES_ADMIN_TOKEN is not set")
        given = request.headers.get("x-admin-token") or _bearer_token(request) or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, "a valid admin token is required",
                                headers={"WWW-Authenticate": "Bearer"})

    # -- API -----------------------------------------------------------------------------
    async def login(self, request: Request) -> JSONResponse:
        body = await _json_object(request)
        email, password = _text(body, "email", 255), _text(body, "password", 1024)
        async with self.pool.connection() as conn:
            found = await store.credentials(conn, email)
        if found is None:
            await run_in_threadpool(burn_time, password)
        if found is None or not await run_in_threadpool(verify_password, password, found[1]):
            raise HTTPException(401, "invalid email or password")
        token = secrets.token_urlsafe(32)
        client_ip = request.client.host if request.client else None
        async with self.pool.connection() as conn:
            expires_at = await store.open_session(conn, found[0], token,
                                                  self.settings.session_ttl_s, client_ip)
        return JSONResponse({"access_token": token, "token_type": "bearer",
                             "expires_at": expires_at.isoformat(),
                             "user_id": _id_out(found[0])})

    async def create_journal(self, request: Request) -> JSONResponse:
        user_id = await self._session_user(request)
        body = await _json_object(request)
        title, content = _text(body, "title", 200), _text(body, "content", 100_000)
        mood = _text(body, "mood", 20, required=False)
        async with self.pool.connection() as conn:
            journal = await store.create_journal(conn, user_id, title, content, mood, self.mode)
        return JSONResponse(journal, status_code=201)

    async def list_journals(self, request: Request) -> JSONResponse:
        user_id = await self._session_user(request)
        raw = request.query_params.get("limit", "50")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise HTTPException(422, f"limit: a whole number from 1 to {MAX_LIMIT}")
        async with self.pool.connection() as conn:
            items = await store.journals(conn, user_id, int(raw), self.mode)
        return JSONResponse({"items": items, "count": len(items)})

    async def get_user(self, request: Request) -> JSONResponse:
        raw = request.path_params["user_id"]
        key = store.parse_id(raw, self.mode)
        if key is None:
            raise HTTPException(404, f"no user {raw!r}: this service uses {self.mode} ids "
                                     f"(revision {self.settings.expected_revision})")
        async with self.pool.connection() as conn:
            found = await store.user(conn, key, self.mode)
        if found is None:
            raise HTTPException(404, f"no user {raw!r}")
        return JSONResponse(found)

    async def _session_user(self, request: Request) -> Any:
        token = _bearer_token(request)
        if token:
            async with self.pool.connection() as conn:
                user_id = await store.session_user(conn, token)
            if user_id is not None:
                return user_id
        raise HTTPException(401, "a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})


def create_app(settings: Settings) -> Starlette:
    api, metrics = Api(settings), Metrics()

    @asynccontextmanager
    async def lifespan(app):
        await api.pool.open(wait=False)
        yield
        await api.pool.close()

    routes = [
        Route("/health", api.health, methods=["GET"]),
        Route("/admin/maintenance/enable", api.maintenance_enable, methods=["POST"]),
        Route("/admin/maintenance/disable", api.maintenance_disable, methods=["POST"]),
        Route("/api/v1/auth/login", api.login, methods=["POST"]),
        Route("/api/v1/journals", api.create_journal, methods=["POST"]),
        Route("/api/v1/journals", api.list_journals, methods=["GET"]),
        Route("/api/v1/users/{user_id}", api.get_user, methods=["GET"]),
        Route(METRICS_PATH, metrics.endpoint, methods=["GET"]),
    ]
    handlers = {HTTPException: _http_error, PoolTimeout: _unavailable,
                psycopg.OperationalError: _unavailable, psycopg.Error: _database_error}
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers,
                    middleware=[Middleware(CountRequests, metrics=metrics, routes=routes),
                                Middleware(MaintenanceGate, flag=api.flag,
                                           retry_after_s=settings.retry_after_s,
                                           admin_token=settings.admin_token)])
    app.state.api, app.state.metrics = api, metrics
    return app


# -- errors ----------------------------------------------------------------------------------
async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    names = {400: "bad request", 401: "unauthorized", 403: "forbidden", 404: "not found",
             405: "method not allowed", 422: "invalid request"}
    return JSONResponse({"error": names.get(exc.status_code, "error"), "detail": exc.detail},
                        status_code=exc.status_code, headers=exc.headers)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s: database unavailable: %s", request.method, request.url.path,
              _first_line(exc))
    return JSONResponse({"error": "database unavailable", "detail": "retry later"},
                        status_code=503, headers={"Retry-After": "5"})


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__,
              _first_line(exc))
    return JSONResponse({"error": "internal error", "detail": "the request failed; see the "
                         "service log"}, status_code=500)


# -- request parsing -----------------------------------------------------------------------
async def _json_object(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(422, "the body must be a JSON object")
    return body


def _text(body: dict, field: str, max_len: int, *, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise HTTPException(422, f"{field}: {'required, ' if required else ''}a non-empty "
                                 f"string of at most {max_len} characters")
    return value


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _id_out(value: Any) -> Any:
    return value if isinstance(value, int) else str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
