"""The gate every request and socket passes: host, client address, principal, policy, CSRF, Origin, headers.

A pure ASGI middleware (it sees http and websocket scopes alike, and costs the
socket's frames nothing once it is open).  It puts in the scope:

* ``wallboard.client``: the real client address (X-Forwarded-For believed only
  from ``auth.trusted_proxies``), for limits and the audit log;
* ``wallboard.secure``: whether the browser reached us over TLS (directly, or
  through a trusted proxy's X-Forwarded-Proto);
* ``wallboard.principal``: who is asking (wallboard/web/auth.py).

It answers on its own whatever the policy refuses, so no endpoint can forget a
check; the endpoints only read the principal (who posted the broadcast, which
session to end).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wallboard.settings import Settings
from wallboard.web.auth import (
    ANONYMOUS,
    LOCAL,
    PAGES,
    SESSION_COOKIE,
    VIEW_PERMISSIONS,
    Authenticator,
    Principal,
    client_address,
    known_path,
    policy_for,
    route_of,
)

audit = logging.getLogger("wallboard.audit")

HSTS = "max-age=31536000"
"""One year, sent only over TLS: a board once reached over https is never asked for over http again."""
API_CSP = "default-src 'none'; frame-ancestors 'none'"
"""Every answer that is not a page: nothing may load or frame it."""
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def json_error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    """The one error shape (docs/api.md), here without the routes' module (which imports this one's users)."""
    return Response(
        orjson.dumps({"error": code, "detail": detail}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def host_name(host: str) -> str:
    """The name of a Host header, without its port: ``[::1]:8080`` -> ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def session_cookie(value: str, max_age: int, secure: bool) -> str:
    """A Set-Cookie value: HttpOnly (no script reads it), SameSite=Strict (no other site sends it)."""
    parts = [f"{SESSION_COOKIE}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class Guard:
    def __init__(self, app: ASGIApp, *, settings: Settings, auth: Authenticator) -> None:
        self.app = app
        self.auth = auth
        self.mode = settings.auth.mode
        hosts = settings.web.allowed_hosts
        self.any_host = "*" in hosts
        self.hosts = frozenset(h.lower().strip("[]") for h in hosts)
        self.origins = frozenset(o.lower() for o in settings.web.allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        websocket = scope["type"] == "websocket"
        headers = Headers(scope=scope)
        peer = scope["client"][0] if scope.get("client") else ""
        client = client_address(peer, headers.get("x-forwarded-for"), self.auth.trusted_proxies)
        proto = headers.get("x-forwarded-proto", "").lower() if self.auth.trusts(peer) else ""
        secure = scope.get("scheme") in ("https", "wss") or proto == "https"
        scope["wallboard.client"] = client
        scope["wallboard.secure"] = secure
        path: str = scope["path"]
        method = "WS" if websocket else scope["method"]

        denial = self._check_host(headers)
        if denial is None and self.mode == "none" and any(h in headers for h in FORWARDING_HEADERS):
            denial = json_error(
                403,
                "forwarded",
                "auth.mode 'none' serves only this machine's own browsers, and this request came through a "
                "proxy: set auth.mode = 'required' (docs/security.md)",
            )
        if denial is not None:
            await self._deny(denial, scope, receive, send)
            return

        known, needed = policy_for(method, path)
        if not known:
            if known_path(path):
                await self.app(scope, receive, send)  # another method: the router's 405
            else:
                await self._deny(json_error(404, "not_found", "Not Found"), scope, receive, send)
            return

        principal, problem = self._principal(headers, peer, client)
        scope["wallboard.principal"] = principal
        if problem is not None:
            await self._deny(problem, scope, receive, send)
            return

        if method == "GET" and route_of(path) in PAGES and "token=" in scope.get("query_string", b"").decode("latin-1"):
            await self._token_link(scope, receive, send, client, secure)
            return

        if not principal.may(needed):
            await self._deny(self._refusal(principal, method, path, scope), scope, receive, send)
            return
        if websocket:
            problem = self._socket_problem(principal, headers, scope)
        elif method == "POST":
            problem = self._post_problem(principal, headers, scope)
        if problem is not None:
            await self._deny(problem, scope, receive, send)
            return
        await self.app(scope, receive, self._with_headers(send, path, secure) if not websocket else send)

    # -- checks

    def _check_host(self, headers: Headers) -> Response | None:
        if self.any_host:
            return None
        name = host_name(headers.get("host", ""))
        if name in self.hosts:
            return None
        return json_error(
            400,
            "bad_host",
            f"this board does not answer to the host name {name[:100]!r}; add it to web.allowed_hosts",
        )

    def _principal(self, headers: Headers, peer: str, client: str) -> tuple[Principal, Response | None]:
        if self.mode == "none":
            return LOCAL, None
        auth = self.auth
        now = auth.clock()
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, given = authorization.partition(" ")
            wait = auth.failures.wait(f"addr:{client}", now)
            if wait > 0:
                return ANONYMOUS, _too_many(wait, "too many wrong credentials from your address")
            found = auth.token(given.strip()) if scheme.lower() == "bearer" else None
            if found is None:
                auth.failures.failed(f"addr:{client}", now)
                audit.warning("wrong bearer token", extra={"client": client, "action": "token_refused"})
                return ANONYMOUS, json_error(
                    401,
                    "unauthorized",
                    "the bearer token is not known (revoked?)",
                    {"WWW-Authenticate": 'Bearer realm="wallboard"'},
                )
            return found[1], None
        proxied = auth.proxy_identity(peer, headers.get(auth.settings.proxy_user_header or "x-not-configured"))
        if proxied is not None:
            return proxied, None
        raw = headers.get("cookie")
        if raw:
            cookie = cookie_parser(raw).get(SESSION_COOKIE)
            if cookie:
                session = auth.session(cookie)
                if session is not None:
                    return session, None
        return ANONYMOUS, None

    def _refusal(self, principal: Principal, method: str, path: str, scope: Scope) -> Response:
        if principal is ANONYMOUS:
            if method == "GET" and route_of(path) in PAGES:
                query = scope.get("query_string", b"").decode("latin-1")
                target = path + (f"?{query}" if query else "")
                return RedirectResponse(f"{scope.get('root_path', '')}/login?next={quote(target, safe='')}", 303)
            return json_error(
                401,
                "unauthorized",
                "sign in first (/login), or send 'Authorization: Bearer <token>'",
                {"WWW-Authenticate": 'Bearer realm="wallboard"'},
            )
        return json_error(403, "forbidden", f"the {principal.role} role may not use {path}")

    def _origin_allowed(self, origin: str, headers: Headers, secure: bool) -> bool:
        origin = origin.lower()
        own = ("https://" if secure else "http://") + headers.get("host", "").lower()
        return origin == own or origin in self.origins

    def _socket_problem(self, principal: Principal, headers: Headers, scope: Scope) -> Response | None:
        origin = headers.get("origin")
        # No Origin: not a browser, so not a page someone else wrote (the cross-site hijack needs a browser).
        if origin is not None and not self._origin_allowed(origin, headers, scope["wallboard.secure"]):
            audit.warning(
                "socket refused: foreign origin",
                extra={"client": scope["wallboard.client"], "origin": origin[:200], "action": "origin_refused"},
            )
            return json_error(403, "foreign_origin", "this board's socket is open to its own pages only")
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
            if name != "views":
                continue
            for view in value.split(","):
                needed = VIEW_PERMISSIONS.get(view.strip())
                if needed is not None and not principal.may(needed):
                    return json_error(
                        403, "forbidden", f"the {principal.role} role may not subscribe to {view.strip()}"
                    )
        return None

    def _post_problem(self, principal: Principal, headers: Headers, scope: Scope) -> Response | None:
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return json_error(415, "unsupported_media_type", "send JSON with 'Content-Type: application/json'")
        origin = headers.get("origin")
        if origin is not None:
            if not self._origin_allowed(origin, headers, scope["wallboard.secure"]):
                audit.warning(
                    "post refused: foreign origin",
                    extra={"client": scope["wallboard.client"], "origin": origin[:200], "action": "origin_refused"},
                )
                return json_error(403, "foreign_origin", "requests from other sites are refused")
        elif principal.kind not in ("token", "anonymous", "local") or "cookie" in headers:
            # A browser always sends Origin on a POST; a cookie or proxy session without one is not ours.
            return json_error(403, "origin_required", "a signed-in browser's request must carry its Origin")
        return None

    # -- the display's token link

    async def _token_link(self, scope: Scope, receive: Receive, send: Send, client: str, secure: bool) -> None:
        """``/tv?token=...``: check it once, keep it in a cookie, and reload without it (off the screen and history)."""
        auth = self.auth
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = next((v for k, v in query if k == "token"), "")
        now = auth.clock()
        wait = auth.failures.wait(f"addr:{client}", now)
        if wait > 0:
            await self._deny(_too_many(wait, "too many wrong tokens from your address"), scope, receive, send)
            return
        found = auth.token(given)
        if found is None or auth.sessions is None:
            auth.failures.failed(f"addr:{client}", now)
            audit.warning("display link with a wrong token", extra={"client": client, "action": "token_refused"})
            await self._deny(
                json_error(401, "unauthorized", "the token in this link is not valid (revoked?); ask for a new link"),
                scope,
                receive,
                send,
            )
            return
        name, principal = found
        cookie, expires = auth.issue_session(principal, "token")
        rest = urlencode([(k, v) for k, v in query if k != "token"])
        target = f"{scope.get('root_path', '')}{scope['path']}" + (f"?{rest}" if rest else "")
        audit.info(
            "display session from token %s",
            name,
            extra={"actor": name, "role": principal.role, "client": client, "action": "token_session"},
        )
        response = RedirectResponse(
            target, 303, headers={"Set-Cookie": session_cookie(cookie, round(expires - now), secure)}
        )
        await response(scope, receive, self._with_headers(send, scope["path"], secure))

    # -- answers

    async def _deny(self, response: Response, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await response(
                scope, receive, self._with_headers(send, scope["path"], scope.get("wallboard.secure", False))
            )
            return
        message = await receive()  # websocket.connect
        if message["type"] != "websocket.connect":
            return
        if "websocket.http.response" in scope.get("extensions", {}):
            await response(scope, receive, send)  # an HTTP answer to the upgrade: the client sees the status
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": ""})

    def _with_headers(self, send: Send, path: str, secure: bool) -> Send:
        static = path.startswith("/static/")

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                _defaults(
                    h,
                    (
                        ("X-Content-Type-Options", "nosniff"),
                        ("X-Frame-Options", "DENY"),
                        ("Referrer-Policy", "no-referrer"),
                        ("Content-Security-Policy", API_CSP),
                    ),
                )
                if not static:
                    _defaults(h, (("Cache-Control", "no-store"),))
                if secure:
                    _defaults(h, (("Strict-Transport-Security", HSTS),))
            await send(message)

        return sender


def _defaults(headers: MutableHeaders, values: Iterable[tuple[str, str]]) -> None:
    for name, value in values:
        if name not in headers:
            headers[name] = value


def _too_many(wait: float, why: str) -> Response:
    seconds = max(1, int(wait + 0.999))
    return json_error(429, "too_many_requests", f"{why}; try again in {seconds} s", {"Retry-After": str(seconds)})


def principal_of(scope: Any) -> Principal:
    """Who the guard let in (requests and sockets alike)."""
    found = scope.get("wallboard.principal")
    return found if isinstance(found, Principal) else ANONYMOUS
