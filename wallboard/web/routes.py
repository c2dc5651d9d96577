"""The HTTP and WebSocket endpoints: thin, over ``Live`` (wallboard/web/live.py).

Every error answer is JSON ``{"error": code, "detail": sentence}``; nothing a
client sends can produce a 500.  docs/api.md lists the endpoints,
docs/protocol.md the WebSocket messages.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.websockets import WebSocket, WebSocketDisconnect

from wallboard.boards import title as board_title
from wallboard.control import broadcast_text
from wallboard.events import CHANNELS
from wallboard.resources import static_dir, templates_dir
from wallboard.settings import BOARD_NAME
from wallboard.sources.control import ControlError
from wallboard.web.admission import CLOSE_REFUSED, client_address
from wallboard.web.auth import ROLE_PERMISSIONS, Authenticator
from wallboard.web.frames import EXTENSION as FRAMES_EXTENSION
from wallboard.web.guard import audit, principal_of, session_cookie
from wallboard.web.hub import CLOSE_SLOW_CLIENT, DATA_VIEWS, Selection, Subscriber
from wallboard.web.live import Live
from wallboard.wire import BroadcastBody

log = logging.getLogger(__name__)

LANGS = ("zh-CN", "en")
MAX_BODY = 64 * 1024
"""Longest POST body read (a broadcast is at most 5,000 characters)."""
MAX_LOGIN_BODY = 4096
"""Longest sign-in body read (a user name and a password)."""
MAX_CLIENT_MESSAGE = 4096
"""Longest WebSocket message a client may send (it only ever sends {"type": "resync"} and ping)."""
CLOSE_GRACE = 1.0
"""Seconds a dropped client gets to take the close frame before the server just cuts the connection."""
CLOSE_SESSION_ENDED = 4401
"""Close code when the session that opened a socket expires (docs/protocol.md)."""
MAX_SELECTION = 100
"""Most queues one selection (``?queues=a,b``) may name."""
MAX_QUEUE_NAME = 64
"""Longest queue name (the event contract's limit, docs/events.md)."""

# Pages hold no inline script or style (docs/board.md "Security"); the socket is same-origin.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # a page carries the settings and who is signed in
}


class JSONResponse(Response):
    """JSON with orjson (non-ASCII kept as UTF-8)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one shape of every error answer."""
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


# ------------------------------------------------------------------ pages


def choose_lang(request: Request) -> str:
    """?lang=zh-CN|en, else the best of zh/en in Accept-Language (zh* -> zh-CN), else en."""
    asked = _norm_lang(request.query_params.get("lang", ""))
    if asked:
        return asked
    best, best_q = "en", -1.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = _norm_lang(tag.strip())
        if lang is None:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0  # a malformed weight ranks last
        if q > best_q:
            best, best_q = lang, q
    return best


def _norm_lang(tag: str) -> str | None:
    tag = tag.lower()
    if tag == "zh" or tag.startswith(("zh-", "zh_")):
        return "zh-CN"
    if tag == "en" or tag.startswith(("en-", "en_")):
        return "en"
    return None


class StaticUrls:
    """``static_url(path)`` for the templates: /static/<path>?v=<content hash>, so browsers never run stale JS."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[str, tuple[int, int, str]] = {}

    def version(self, path: str) -> str | None:
        file = (self.root / path).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            return None
        st = file.stat()
        cached = self._cache.get(path)
        if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2]
        digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
        self._cache[path] = (st.st_mtime_ns, st.st_size, digest)
        return digest

    def url_for(self, request: Request) -> Callable[[str], str]:
        prefix = str(request.scope.get("root_path", "")) + "/static/"

        def static_url(path: str) -> str:
            v = self.version(path)
            return prefix + path + (f"?v={v}" if v else "")

        return static_url


def _page(name: str) -> Callable[[Request], Any]:
    async def page(request: Request) -> Response:
        live: Live = request.state.live
        principal = principal_of(request.scope)
        board = None
        if "name" in request.path_params:  # /tv/NAME: a named board ([boards.NAME], wallboard/boards.py)
            board_name = request.path_params["name"]
            settings = live.settings.boards.get(board_name)
            if settings is None:
                known = ", ".join(sorted(live.settings.boards)) or "none"
                return error(404, "unknown_board", f"no board {board_name[:40]!r} in [boards] (known: {known})")
            board = {"name": board_name, "layout": settings.layout, "title": board_title(board_name, settings)}
        ctx = {
            "user": principal.name if principal.kind in ("session", "proxy") else "",
            "role": principal.role or "",
            "can_sign_out": principal.kind == "session",
            "lang": choose_lang(request),
            "static_url": request.state.static_urls.url_for(request),
            "push_interval_s": live.push_interval,
            "stale_after_s": live.stale_after,
            "settings_json": orjson.dumps(live.settings_json).decode(),
            "channels": CHANNELS,
            "board": board,
            "grid": board is not None and board["layout"] == "grid",
            "root": "../" if board is not None else "",  # the app's URLs from /tv/NAME (static/core.js appUrl)
        }
        templates: Jinja2Templates = request.state.templates
        return templates.TemplateResponse(request, name, ctx, headers=PAGE_HEADERS)

    return page


async def root(request: Request) -> Response:
    query = request.url.query
    return RedirectResponse("tv" + (f"?{query}" if query else ""), status_code=302)


# -------------------------------------------------------------------- API


def parse_selection(raw: str) -> Selection | str:
    """``a,b`` -> ("a", "b") (trimmed, without repeats, in the order given), or why it is refused."""
    names = tuple(dict.fromkeys(q.strip() for q in raw.split(",") if q.strip()))
    if len(names) > MAX_SELECTION:
        return f"a selection names at most {MAX_SELECTION} queues, got {len(names)}"
    if any(len(q) > MAX_QUEUE_NAME for q in names):
        return f"queue names have at most {MAX_QUEUE_NAME} characters"
    return names


def _view(name: str) -> Callable[[Request], Any]:
    async def view(request: Request) -> Response:
        live: Live = request.state.live
        selection: Selection = ()
        if name == "snapshot":
            parsed = parse_selection(request.query_params.get("queues", ""))
            if isinstance(parsed, str):
                return error(400, "bad_selection", parsed)
            selection = parsed
        return JSONResponse(live.api_view(name, selection))

    return view


async def get_broadcast(request: Request) -> Response:
    live: Live = request.state.live
    body: BroadcastBody = {"text": live.broadcast_text, "set_at": live.broadcast_set_at}
    return JSONResponse(body)


async def get_alerts(request: Request) -> Response:
    """The alerts breached now ([alerts.rules], docs/alerts.md), firing first."""
    live: Live = request.state.live
    return JSONResponse(live.alerts_view())


async def post_ack(request: Request) -> Response:
    """Acknowledge a firing alert: JSON {"idempotency_key": "..."}; every instance shows who and when."""
    live: Live = request.state.live
    principal = principal_of(request.scope)
    data = await read_json(request, MAX_BODY)
    if isinstance(data, Response):
        return data
    key = data.get("idempotency_key")
    if not isinstance(key, str) or not key or len(key) > 64:
        return error(400, "bad_request", 'the body must be {"idempotency_key": "..."} of a firing alert')
    try:
        row = await live.acknowledge(key, principal.name)
    except ControlError as exc:
        return error(503, "not_stored", f"the acknowledgement was not stored, try again: {exc}")
    if row is None:
        return error(404, "not_firing", "no alert fires with that idempotency_key (it may have resolved)")
    client = request.scope.get("wallboard.client", "")
    audit.info(
        "alert %s on %s acknowledged by %s from %s",
        row["rule"],
        row["scope"],
        principal.name,
        client,
        extra={"actor": principal.name, "role": principal.role, "client": client, "action": "acknowledge"},
    )
    return JSONResponse(row)


async def read_json(request: Request, limit: int) -> dict[str, Any] | Response:
    """The body as a JSON object, or the error answer (too large, not JSON, not an object)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return error(413, "too_large", f"the request body is over {limit} bytes")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return error(400, "bad_json", f"the body is not JSON ({exc})")
    if not isinstance(data, dict):
        return error(400, "bad_request", "the body must be a JSON object")
    return data


async def post_broadcast(request: Request) -> Response:
    """Set or clear the broadcast: JSON {"text": "..."} from a supervisor (the guard checked who)."""
    live: Live = request.state.live
    auth: Authenticator = request.state.auth
    web = live.settings.web
    principal = principal_of(request.scope)
    client = request.scope.get("wallboard.client", "")
    wait = auth.broadcasts.take(f"{principal.kind}:{principal.name}", time.monotonic())
    if wait > 0:
        seconds = max(1, int(wait + 0.999))
        audit.warning(
            "broadcast refused: rate", extra={"actor": principal.name, "client": client, "action": "broadcast_rate"}
        )
        return error(
            429,
            "too_many_requests",
            f"at most {auth.settings.broadcasts_per_minute:g} broadcasts a minute; try again in {seconds} s",
            {"Retry-After": str(seconds)},
        )
    data = await read_json(request, MAX_BODY)
    if isinstance(data, Response):
        return data
    if "text" not in data:
        return error(400, "bad_request", 'the body must be a JSON object with a "text" field: {"text": "..."}')
    text = data["text"]
    if not isinstance(text, str):
        return error(400, "bad_type", f'"text" must be a string, got {type(text).__name__}')
    shown = broadcast_text(text, web.broadcast_max_length)  # one line on the ticker, nothing hidden
    if isinstance(shown, tuple):
        return error(400, *shown)
    text = shown
    try:
        result = await live.post_broadcast(text, principal.name)
    except ControlError as exc:
        log.error("broadcast by %s not stored: %s", principal.name, exc)
        return error(503, "not_stored", f"the broadcast was not stored, try again: {exc}")
    # Who and from where, never what (the text is on every board anyway; the log need not keep it).
    audit.info(
        "broadcast %s by %s from %s (%d characters)",
        "set" if text else "cleared",
        principal.name,
        client,
        len(text),
        extra={"actor": principal.name, "role": principal.role, "client": client, "action": "broadcast"},
    )
    return JSONResponse(result)


# ------------------------------------------------------------------ sign-in

LOGIN_TEXT = {
    "en": {"title": "Sign in", "user": "User name", "password": "Password", "submit": "Sign in"},
    "zh-CN": {"title": "登录", "user": "用户名", "password": "密码", "submit": "登录"},
}


async def login_page(request: Request) -> Response:
    lang = choose_lang(request)
    templates: Jinja2Templates = request.state.templates
    ctx = {"lang": lang, "text": LOGIN_TEXT[lang], "static_url": request.state.static_urls.url_for(request)}
    return templates.TemplateResponse(request, "login.html", ctx, headers=PAGE_HEADERS)


async def api_login(request: Request) -> Response:
    """JSON {"user", "password"} -> a session cookie; failures back off per address and per user."""
    auth: Authenticator = request.state.auth
    if auth.mode == "none" or auth.sessions is None:
        return error(400, "no_sign_in", "this board has no password sign-in (auth.mode, [auth.users])")
    data = await read_json(request, MAX_LOGIN_BODY)
    if isinstance(data, Response):
        return data
    user, password = data.get("user"), data.get("password")
    if not isinstance(user, str) or not isinstance(password, str) or not user or len(user) > 128:
        return error(400, "bad_request", 'send {"user": "...", "password": "..."}')
    client = str(request.scope.get("wallboard.client", ""))
    keys = (f"addr:{client}", f"user:{user}")
    now = auth.clock()
    wait = max(auth.failures.wait(k, now) for k in keys)
    if wait > 0:
        seconds = max(1, int(wait + 0.999))
        audit.warning(
            "sign-in refused: backing off", extra={"actor": user, "client": client, "action": "login_backoff"}
        )
        return error(
            429,
            "too_many_requests",
            f"too many failed sign-ins; try again in {seconds} s",
            {"Retry-After": str(seconds)},
        )
    async with request.state.hashing:  # argon2 takes 64 MiB and a core per check: a few at a time
        principal = await anyio.to_thread.run_sync(auth.verify_password, user, password[:1024])
    if principal is None:
        for k in keys:
            auth.failures.failed(k, auth.clock())
        audit.warning(
            "sign-in failed for %s from %s",
            user,
            client,
            extra={"actor": user, "client": client, "action": "login_failed"},
        )
        return error(401, "wrong_credentials", "wrong user name or password")
    auth.failures.succeeded(f"user:{user}")
    cookie, expires = auth.issue_session(principal, "user")
    audit.info(
        "sign-in: %s (%s) from %s",
        user,
        principal.role,
        client,
        extra={"actor": user, "role": principal.role, "client": client, "action": "login"},
    )
    secure = bool(request.scope.get("wallboard.secure"))
    return JSONResponse(
        _session_body(principal.name, principal.role, expires, auth.mode),
        headers={"Set-Cookie": session_cookie(cookie, round(expires - auth.clock()), secure)},
    )


async def api_logout(request: Request) -> Response:
    principal = principal_of(request.scope)
    if principal.kind == "session":
        client = request.scope.get("wallboard.client", "")
        audit.info(
            "sign-out: %s from %s",
            principal.name,
            client,
            extra={"actor": principal.name, "client": client, "action": "logout"},
        )
    secure = bool(request.scope.get("wallboard.secure"))
    return JSONResponse({"signed_out": True}, headers={"Set-Cookie": session_cookie("", 0, secure)})


async def api_session(request: Request) -> Response:
    """Who the board thinks you are (the pages ask after a refused socket)."""
    auth: Authenticator = request.state.auth
    p = principal_of(request.scope)
    return JSONResponse(_session_body(p.name if p.role else None, p.role, p.expires, auth.mode))


def _session_body(name: str | None, role: str | None, expires: float | None, mode: str) -> dict[str, object]:
    perms = sorted(ROLE_PERMISSIONS[role]) if role in ROLE_PERMISSIONS else []  # type: ignore[index]
    return {
        "authenticated": role is not None,
        "name": name,
        "role": role,
        "permissions": perms,
        "expires_at": None if expires is None else int(expires),
        "auth_mode": mode,
    }


async def healthz(request: Request) -> Response:
    live: Live = request.state.live
    ok, body = live.health()
    return JSONResponse(body, status_code=200 if ok else 503)


async def readyz(request: Request) -> Response:
    live: Live = request.state.live
    ok, body = live.readiness()
    return JSONResponse(body, status_code=200 if ok else 503)


async def metrics(request: Request) -> Response:
    live: Live = request.state.live
    return Response(generate_latest(live.metrics.registry), media_type=CONTENT_TYPE_LATEST)


# -------------------------------------------------------------- WebSocket


async def ws_endpoint(websocket: WebSocket) -> None:
    """docs/protocol.md: hello + full state on connect, then one message per tick; reader and writer together."""
    live: Live = websocket.state.live
    await websocket.accept()
    asked = _subscription(websocket)
    if isinstance(asked, str):
        await websocket.close(1008, asked)
        return
    views, selection = asked
    deltas = _deltas(websocket)
    if isinstance(deltas, str):
        await websocket.close(1008, deltas)
        return
    live.metrics.ws_connections.inc()
    closing: list[tuple[int, str]] = []  # what the server closes with, if it is the one closing
    initial = [live.hello(views, selection, deltas=deltas), *live.current(views, selection)]
    async with live.hub.subscribe(views, initial, selection, deltas=deltas) as sub:
        frames = websocket.scope.get("extensions", {}).get(FRAMES_EXTENSION)
        if frames is not None:  # served by FrameWritingProtocol: idle-socket writes skip the ASGI path
            sub.direct = frames["write"]
        async with anyio.create_task_group() as tg:
            sub.on_drop = tg.cancel_scope.cancel  # Hub.reap: this client took nothing for slow_client_timeout

            async def writer() -> None:
                try:
                    await live.hub.serve(sub, websocket.send_text)
                    if not sub.dropped:
                        closing.append((1012, "server restarting"))  # the hub closed: shutdown
                except WebSocketDisconnect:
                    pass
                finally:
                    tg.cancel_scope.cancel()

            async def reader() -> None:
                try:
                    problem = await _read(websocket, live, sub)
                    if problem is not None:
                        closing.append(problem)
                        live.metrics.ws_dropped.labels("protocol").inc()
                finally:
                    tg.cancel_scope.cancel()

            tg.start_soon(writer)
            tg.start_soon(reader)
            expires = principal_of(websocket.scope).expires
            if expires is not None:

                async def session_end() -> None:
                    # The socket lives no longer than the session that opened it; the page then signs in again.
                    await anyio.sleep(max(0.0, expires - time.time()))
                    closing.append((CLOSE_SESSION_ENDED, "the session has ended; sign in again"))
                    tg.cancel_scope.cancel()

                tg.start_soon(session_end)
    if sub.dropped:
        closing.insert(0, (CLOSE_SLOW_CLIENT, f"took no message for {live.hub.slow_client_timeout:g} s"))
        live.metrics.ws_dropped.labels("slow").inc()
    if closing:
        code, reason = closing[0]
        # A stalled socket may never take the close frame: give it CLOSE_GRACE, then let the server cut it.
        with anyio.move_on_after(CLOSE_GRACE), contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.close(code, reason)


def admitted(endpoint: Callable[[WebSocket], Awaitable[None]]) -> Callable[[WebSocket], Awaitable[None]]:
    """``endpoint`` behind the connection limits (wallboard/web/admission.py): over one, 1013 and the reason."""

    async def guarded(websocket: WebSocket) -> None:
        live: Live = websocket.state.live
        address = client_address(websocket.scope)
        refused = live.admission.admit(address)
        if refused is not None:
            live.metrics.ws_refused.labels(refused.reason).inc()
            if refused.first:  # once while the limit is reached, not once per socket of a flood
                log.warning("WebSocket refused (%s) from %s: %s", refused.reason, address or "?", refused.text)
            await websocket.accept()
            await websocket.close(CLOSE_REFUSED, refused.text)
            return
        try:
            await endpoint(websocket)
        finally:
            live.admission.release(address)

    return guarded


def _subscription(websocket: WebSocket) -> tuple[list[str], Selection] | str:
    """The views (and the selection of queues) a client asks for in its URL, or why they are refused."""
    raw = websocket.query_params.get("views", "")
    views = list(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip())) or ["snapshot"]
    unknown = [v for v in views if v not in DATA_VIEWS]
    if unknown:
        return f"unknown view {unknown[0][:40]!r}; known: {', '.join(DATA_VIEWS)}"
    if "board" in views:
        if "selection" in views:
            return "the board and selection views cannot share a socket; open one for each"
        name = websocket.query_params.get("board", "")
        if not name:
            return "the board view needs the board's name: /ws?views=board&board=NAME"
        boards = websocket.state.live.settings.boards
        if name not in boards:
            # A close reason holds at most 123 bytes: an ASCII name of at most 40, the known ones cut to 50.
            if BOARD_NAME.fullmatch(name) is None:
                return "unknown board: a board name is 1 to 40 of a-z, 0-9, '-' and '_' ([boards])"
            known = ", ".join(sorted(boards)) or "none"
            return f"unknown board {name!r} (known: {known[:50]})"
        return views, (name,)
    if "selection" not in views:
        return views, ()  # a queues parameter without the selection view changes nothing
    selection = parse_selection(websocket.query_params.get("queues", ""))
    if isinstance(selection, str):
        return selection
    if not selection:
        return "the selection view needs the queues: /ws?views=selection&queues=a,b"
    return views, selection


def _deltas(websocket: WebSocket) -> bool | str:
    """Does the client take the agents and intraday views as deltas (``deltas=1``)? Or why it is refused."""
    raw = websocket.query_params.get("deltas", "0")
    if raw not in ("0", "1"):
        return f"deltas is 0 or 1, got {raw[:20]!r}"
    return raw == "1"


async def _read(websocket: WebSocket, live: Live, sub: Subscriber) -> tuple[int, str] | None:
    """Handle the client's messages until it goes; return (code, reason) to close a misbehaving client.

    A resync sooner than ``[server] resync_interval`` after the socket's last one waits until then: the
    full state costs the server a send of every view, and while this reader waits, uvicorn reads no
    more of the socket, so a flood of resyncs holds up only its sender (the page asks at most every 2 s).
    """
    resync_interval = live.settings.server.resync_interval
    next_resync = 0.0
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None:
            return 1003, "only JSON text messages are accepted"
        if len(text) > MAX_CLIENT_MESSAGE:
            return 1009, f"client messages are at most {MAX_CLIENT_MESSAGE} characters"
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return 1007, 'client messages are JSON objects like {"type": "resync"}'
        if not isinstance(msg, dict):
            return 1007, 'client messages are JSON objects like {"type": "resync"}'
        kind = msg.get("type")
        if kind == "resync":
            wait = next_resync - time.monotonic()
            if wait > 0:
                await anyio.sleep(wait)
            next_resync = time.monotonic() + resync_interval
            for out in live.current(sub.views, sub.selection):
                sub.offer(out)
        elif kind == "ping":
            sub.offer(live.heartbeat())
        else:
            log.debug("ignoring a client message of type %r", kind)  # newer clients may send more


# -------------------------------------------------------------- wiring


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's HTTPException (404, 405...) as the JSON error shape."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    return error(500, "internal", "the server failed on this request; the log has the details")


def routes() -> list[BaseRoute]:
    return [
        Route("/", root, methods=["GET"]),
        Route("/tv", _page("tv.html"), methods=["GET"], name="tv"),
        Route("/tv/{name}", _page("tv.html"), methods=["GET"], name="tv_board"),
        Route("/supervisor", _page("supervisor.html"), methods=["GET"], name="supervisor"),
        Route("/api/snapshot", _view("snapshot"), methods=["GET"]),
        Route("/api/agents", _view("agents"), methods=["GET"]),
        Route("/api/intraday", _view("intraday"), methods=["GET"]),
        Route("/api/broadcast", get_broadcast, methods=["GET"]),
        Route("/api/alerts", get_alerts, methods=["GET"]),
        Route("/api/alerts/ack", post_ack, methods=["POST"]),
        Route("/api/broadcast", post_broadcast, methods=["POST"]),
        Route("/login", login_page, methods=["GET"], name="login"),
        Route("/api/login", api_login, methods=["POST"]),
        Route("/api/logout", api_logout, methods=["POST"]),
        Route("/api/session", api_session, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        WebSocketRoute("/ws", admitted(ws_endpoint)),
        Mount("/static", StaticFiles(directory=static_dir()), name="static"),
    ]


def make_templates() -> Jinja2Templates:
    return Jinja2Templates(directory=str(templates_dir()))
