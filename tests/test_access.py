"""Access control (docs/security.md): every role against every route and every socket view, the sign-in paths,
and each attack of the security review tried again: foreign and null Origins, CSRF forms, clickjacking, a wrong
Host, forged forwarding headers, floods of wrong credentials and broadcasts.

Through Starlette's TestClient (the app's own middleware, no mocks); tests that need a real peer address run
uvicorn on 127.0.0.1 (tests/servers.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st
from starlette.websockets import WebSocketDisconnect

from tests.servers import in_thread
from tests.test_routes import Board, recv, running, web_settings
from tests.test_routes import board as board  # the fixture (a plain board: auth.mode none)
from wallboard.errors import SettingsError
from wallboard.settings import Settings, with_overrides
from wallboard.sources.memory import ListSource
from wallboard.web import create_app
from wallboard.web.auth import POLICY, VIEW_PERMISSIONS, token_hash
from wallboard.web.routes import routes

PASSWORD = "correct horse battery staple"
# Cheap argon2id parameters: the hash carries them, so verifying it is fast too (production uses the defaults).
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
HASH = FAST.hash(PASSWORD)
SECRET = "s" * 40
TOKENS = {"display": "tv-token-" + "d" * 40, "admin": "admin-token-" + "a" * 40, "monitor": "mon-token-" + "m" * 40}
ORIGIN = "http://localhost"
"""The board's own origin for the TestClient's requests (its sockets go to ws://testserver: WS_ORIGIN)."""
WS_ORIGIN = "http://testserver"


def auth_settings(**auth: Any) -> Settings:
    table: dict[str, Any] = {
        "mode": "required",
        "session_secret": SECRET,
        "users": {
            "wang": {"role": "supervisor", "password_hash": HASH},
            "li": {"role": "display", "password_hash": HASH},
        },
        "tokens": {
            "lobby-tv": {"role": "display", "sha256": token_hash(TOKENS["display"])},
            "ops": {"role": "admin", "sha256": token_hash(TOKENS["admin"])},
            "prometheus": {"role": "monitor", "sha256": token_hash(TOKENS["monitor"])},
        },
    }
    table.update(auth)
    return with_overrides(web_settings(), auth=table)


@pytest.fixture(scope="module")
def secured() -> Iterator[Board]:
    with running(auth_settings()) as b:
        yield b


def sign_in(b: Board, user: str = "wang", password: str = PASSWORD) -> httpx.Response:
    r: httpx.Response = b.client.post(
        "/api/login", json={"user": user, "password": password}, headers={"Origin": ORIGIN}
    )
    return r


@contextmanager
def as_role(b: Board, role: str) -> Iterator[dict[str, str]]:
    """Headers (and cookies in the client) of one kind of principal; cookies are cleared afterwards."""
    b.client.cookies.clear()
    try:
        if role == "anonymous":
            yield {}
        elif role == "supervisor":
            assert sign_in(b).status_code == 200
            yield {"Origin": ORIGIN, "Cookie": _take_cookie(b)}
        elif role == "display-session":
            r = b.client.get("/tv?lang=en&token=" + TOKENS["display"], follow_redirects=False)
            assert r.status_code == 303
            yield {"Cookie": _take_cookie(b)}
        else:
            yield {"Authorization": "Bearer " + TOKENS[role]}
    finally:
        b.client.cookies.clear()


def _take_cookie(b: Board) -> str:
    """The session cookie as a header (the TestClient keeps cookies for localhost, its sockets go to testserver)."""
    value = b.client.cookies["wallboard_session"]
    b.client.cookies.clear()
    return f"wallboard_session={value}"


ROLE_CAN: dict[str, set[str]] = {
    "anonymous": set(),
    "display": {"board"},
    "display-session": {"board"},
    "supervisor": {"board", "agents", "broadcast", "acknowledge"},
    "admin": {"board", "agents", "broadcast", "acknowledge", "metrics"},
    "monitor": {"metrics"},
}
HTTP_ROUTES = sorted((m, p) for (m, p) in POLICY if m != "WS" and p != "/static/")


# ------------------------------------------------------------------ the policy table is the routes


def test_the_policy_table_names_every_route_and_only_them() -> None:
    served: set[tuple[str, str]] = set()
    for route in routes():
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None)
        if path == "/static":
            served.add(("GET", "/static/"))
        elif methods is None:
            served.add(("WS", path))
        else:
            served |= {(m, path) for m in methods if m != "HEAD"}
    assert served == set(POLICY)


def test_every_socket_view_has_a_permission() -> None:
    from wallboard.web.hub import DATA_VIEWS

    assert set(VIEW_PERMISSIONS) == set(DATA_VIEWS)


# ------------------------------------------------------------------ every role, every route


@pytest.mark.parametrize("role", sorted(ROLE_CAN))
@pytest.mark.parametrize(("method", "path"), HTTP_ROUTES)
def test_every_role_against_every_route(secured: Board, role: str, method: str, path: str) -> None:
    needed = POLICY[(method, path)]
    with as_role(secured, role) as headers:
        if method == "GET":
            r = secured.client.get(path, headers=headers, follow_redirects=False)
        else:
            # (a sign-in with a malformed body: a wrong password would count against the address)
            body = {"text": ""} if path == "/api/broadcast" else {"user": 5}
            r = secured.client.post(path, json=body, headers={"Origin": ORIGIN, **headers})
    allowed = needed is None or needed in ROLE_CAN[role]
    if allowed:
        assert r.status_code not in (401, 403), (role, path, r.text)
    elif role == "anonymous":
        if path in ("/tv", "/supervisor"):
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        else:
            assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    else:
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert "wang" not in r.text or role in ("supervisor",) or path != "/api/agents"


@pytest.mark.parametrize("role", sorted(ROLE_CAN))
@pytest.mark.parametrize("view", sorted(VIEW_PERMISSIONS))
def test_every_role_against_every_socket_view(secured: Board, role: str, view: str) -> None:
    query = f"/ws?views={view}" + ("&queues=信用卡" if view == "selection" else "")
    allowed = VIEW_PERMISSIONS[view] in ROLE_CAN[role]
    with as_role(secured, role) as headers:
        headers.pop("Origin", None)
        if allowed:
            with secured.client.websocket_connect(query, headers=headers) as ws:
                assert recv(ws)["type"] == "hello"
                assert recv(ws)["type"] == view
        else:
            with pytest.raises(Exception) as info:  # the handshake is answered with 401/403
                with secured.client.websocket_connect(query, headers=headers):
                    pass
            status = getattr(info.value, "status_code", None)
            assert status == (401 if role == "anonymous" else 403), info.value


def test_a_display_never_sees_an_agent_name(secured: Board) -> None:
    with as_role(secured, "display") as headers:
        for path in ("/tv", "/api/snapshot", "/api/intraday", "/api/broadcast"):
            r = secured.client.get(path, headers=headers)
            assert r.status_code == 200
            assert "Agent One" not in r.text and '"agent_id"' not in r.text, path
        with secured.client.websocket_connect("/ws?views=snapshot,intraday", headers=headers) as ws:
            for _ in range(3):
                assert "Agent One" not in str(recv(ws))


# ------------------------------------------------------------------ credentials


def test_wrong_and_missing_credentials() -> None:
    with running(auth_settings()) as secured:
        _wrong_and_missing(secured)


def _wrong_and_missing(secured: Board) -> None:
    c = secured.client
    assert c.get("/api/snapshot").status_code == 401
    assert c.get("/api/snapshot", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.get("/api/snapshot", headers={"Authorization": "Basic d2FuZzp4"}).status_code == 401
    assert c.get("/api/snapshot", headers={"Cookie": "wallboard_session=forged.value"}).status_code == 401
    r = sign_in(secured, password="wrong")
    assert r.status_code == 401 and r.json()["error"] == "wrong_credentials"
    r = sign_in(secured, user="nobody")
    assert r.status_code == 401 and r.json()["error"] == "wrong_credentials"  # the same answer: no user probing
    assert "set-cookie" not in r.headers


def test_a_signed_in_supervisor_gets_a_strict_http_only_cookie_and_can_sign_out(secured: Board) -> None:
    c = secured.client
    c.cookies.clear()
    r = sign_in(secured)
    assert r.status_code == 200 and r.json()["role"] == "supervisor"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http here; behind TLS it is set (test below)
    assert c.get("/api/agents", headers={"Origin": ORIGIN}).status_code == 200
    assert c.get("/api/session").json()["name"] == "wang"
    r = c.post("/api/logout", json={}, headers={"Origin": ORIGIN})
    assert r.status_code == 200 and "Max-Age=0" in r.headers["set-cookie"]
    assert c.get("/api/agents").status_code == 401
    c.cookies.clear()


def test_the_display_link_keeps_the_token_off_the_screen(secured: Board) -> None:
    c = secured.client
    c.cookies.clear()
    r = c.get("/tv?lang=en&token=" + TOKENS["display"], follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tv?lang=en"
    assert "HttpOnly" in r.headers["set-cookie"] and f"Max-Age={400 * 86400}" in r.headers["set-cookie"]
    assert c.get("/tv?lang=en").status_code == 200
    assert c.get("/supervisor", follow_redirects=False).status_code == 403
    assert c.get("/api/session").json()["role"] == "display"
    c.cookies.clear()
    r = c.get("/tv?token=wrong", follow_redirects=False)
    assert r.status_code == 401 and "set-cookie" not in r.headers


def test_a_revoked_token_or_changed_password_ends_its_sessions() -> None:
    """Sessions name their credential; a restart with it removed (every instance shares the secret) refuses them."""
    with running(auth_settings()) as b:
        b.client.get("/tv?token=" + TOKENS["display"], follow_redirects=False)
        display_cookie = b.client.cookies["wallboard_session"]
        b.client.cookies.clear()
        sign_in(b)
        user_cookie = b.client.cookies["wallboard_session"]
    changed = auth_settings(
        tokens={"ops": {"role": "admin", "sha256": token_hash(TOKENS["admin"])}},
        users={"wang": {"password_hash": FAST.hash("a new password!")}},
    )
    with running(changed) as b:
        for cookie in (display_cookie, user_cookie):
            r = b.client.get("/api/snapshot", headers={"Cookie": f"wallboard_session={cookie}"})
            assert r.status_code == 401


def test_failed_sign_ins_back_off_per_address_and_user() -> None:
    with running(auth_settings(login_free_failures=3)) as b:
        codes = [sign_in(b, password=f"wrong{i}").status_code for i in range(3)]
        assert codes == [401, 401, 401]
        r = sign_in(b)  # even the right password waits now
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_wrong_bearer_tokens_are_slowed_down() -> None:
    with running(auth_settings(login_free_failures=5)) as b:
        codes = [b.client.get("/api/snapshot", headers={"Authorization": f"Bearer x{i}"}).status_code for i in range(8)]
        assert codes[:5] == [401] * 5 and 429 in codes[5:]


def test_broadcasts_are_rate_limited_per_person() -> None:
    with running(auth_settings(broadcasts_per_minute=3)) as b:
        headers = {"Authorization": "Bearer " + TOKENS["admin"]}
        codes = [b.client.post("/api/broadcast", json={"text": f"m{i}"}, headers=headers).status_code for i in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        assert b.client.get("/api/broadcast", headers=headers).json()["text"] == "m2"


def test_broadcast_and_sign_in_are_audited_with_who_and_where_but_not_what(
    secured: Board, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wallboard.audit")
    secret_text = "the vault code is 1234"
    with as_role(secured, "supervisor") as headers:
        r = secured.client.post("/api/broadcast", json={"text": secret_text}, headers=headers)
        assert r.status_code == 200
        secured.client.post("/api/broadcast", json={"text": ""}, headers=headers)
    records = [r for r in caplog.records if r.name == "wallboard.audit"]
    actions = [getattr(r, "action", None) for r in records]
    assert "login" in actions and "broadcast" in actions
    for rec in records:
        assert secret_text not in rec.getMessage() and PASSWORD not in rec.getMessage()
    bc = next(r for r in records if getattr(r, "action", None) == "broadcast")
    assert bc.__dict__["actor"] == "wang" and bc.__dict__["client"] == "testclient"


# ------------------------------------------------------------------ hostile browsers


@pytest.mark.parametrize("origin", ["http://localhost:18090", "null", "https://testserver", "http://testserver.evil"])
def test_a_foreign_or_null_origin_gets_no_socket(origin: str) -> None:
    with running(web_settings()) as b:  # even without auth: a page elsewhere must not read the board
        with pytest.raises(Exception) as info:
            with b.client.websocket_connect("/ws?views=agents", headers={"Origin": origin}):
                pass
        assert getattr(info.value, "status_code", None) == 403
        with b.client.websocket_connect("/ws", headers={"Origin": WS_ORIGIN}) as ws:
            assert recv(ws)["type"] == "hello"


def test_configured_public_origins_may_connect() -> None:
    s = with_overrides(web_settings(), web={"allowed_origins": ["https://wallboard.bank.example"]})
    with running(s) as b:
        with b.client.websocket_connect("/ws", headers={"Origin": "https://wallboard.bank.example"}) as ws:
            assert recv(ws)["type"] == "hello"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"text": "pwned"}'),  # <form enctype="text/plain">: the review's proof of concept
        ("application/x-www-form-urlencoded", "text=pwned"),
        ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="text"\r\n\r\npwned\r\n--x--'),
        ("", '{"text": "pwned"}'),
    ],
)
def test_csrf_forms_cannot_post_a_broadcast(content_type: str, body: str) -> None:
    with running(web_settings()) as b:
        headers = {"Origin": "http://localhost:18090"}
        if content_type:
            headers["Content-Type"] = content_type
        r = b.client.post("/api/broadcast", content=body, headers=headers)
        assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"
        assert b.client.get("/api/broadcast").json()["text"] == ""


def test_a_foreign_origin_cannot_post_json_either() -> None:
    with running(web_settings()) as b:
        r = b.client.post("/api/broadcast", json={"text": "pwned"}, headers={"Origin": "http://localhost:18090"})
        assert r.status_code == 403 and r.json()["error"] == "foreign_origin"
        assert b.client.get("/api/broadcast").json()["text"] == ""


def test_a_cookie_session_must_show_its_origin(secured: Board) -> None:
    with as_role(secured, "supervisor") as headers:
        r = secured.client.post("/api/broadcast", json={"text": "x"}, headers={"Cookie": headers["Cookie"]})
        assert r.status_code == 403 and r.json()["error"] == "origin_required"


def test_pages_cannot_be_framed_and_answers_are_not_cached(board: Board) -> None:
    for path in ("/tv", "/supervisor", "/login"):
        r = board.client.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "connect-src 'self';" in csp and "ws:" not in csp
        assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    for path in ("/api/snapshot", "/api/agents", "/api/intraday", "/api/broadcast", "/api/session", "/readyz"):
        r = board.client.get(path)
        assert r.headers["cache-control"] == "no-store", path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "strict-transport-security" not in board.client.get("/tv").headers  # plain http: no HSTS


@pytest.mark.parametrize("host", ["evil.example", "attacker.test:8080", ""])
def test_a_foreign_host_name_is_refused_dns_rebinding(host: str) -> None:
    with running(web_settings()) as b:
        r = b.client.get("/api/snapshot", headers={"Host": host})
        assert r.status_code == 400 and r.json()["error"] == "bad_host"


def test_unknown_paths_are_404_before_any_endpoint(secured: Board) -> None:
    r = secured.client.get("/api/secrets")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = secured.client.put("/api/broadcast", json={}, headers={"Authorization": "Bearer " + TOKENS["admin"]})
    assert r.status_code == 405


# ------------------------------------------------------------------ starting safely


def test_no_authentication_on_a_public_address_refuses_to_start() -> None:
    exposed = with_overrides(web_settings(), web={"host": "0.0.0.0"})
    with pytest.raises(SettingsError, match=r"auth\.mode is 'none'"):
        create_app(exposed, ListSource([]))
    create_app(with_overrides(exposed, auth={**_auth_table()}), ListSource([]))  # with auth it starts


def _auth_table() -> dict[str, Any]:
    return {"mode": "required", "session_secret": SECRET, "users": {"wang": {"password_hash": HASH}}}


def test_no_authentication_refuses_requests_through_a_proxy(board: Board) -> None:
    r = board.client.get("/api/snapshot", headers={"X-Forwarded-For": "10.1.2.3"})
    assert r.status_code == 403 and r.json()["error"] == "forwarded"


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        ({"mode": "required"}, "needs [auth.users]"),
        ({"mode": "required", "users": {"a": {"password_hash": "x"}}}, "argon2id"),
        ({"mode": "required", "users": {"a": {"password_hash": HASH}}}, "session_secret: required"),
        ({"session_secret": "short"}, "at least 32"),
        ({"session_secret": " " + "x" * 40}, "surrounding spaces"),
        ({"proxy_user_header": "X-Remote-User"}, "trusted_proxies: required"),
        ({"trusted_proxies": ["not-an-ip"]}, "not an IP address"),
        ({"tokens": {"tv": {"sha256": "abc"}}}, "64 lower-case hex"),
    ],
)
def test_bad_auth_settings_are_clear(auth: dict[str, Any], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem.replace("[", r"\[")):
        with_overrides(web_settings(), auth=auth)


# ------------------------------------------------------------------ a real peer: proxies and forged headers


def _real_board(settings: Settings) -> Any:
    return in_thread(create_app(settings, ListSource([]), clock=lambda: 1_796_000_000.0))


def test_the_identity_header_is_believed_only_from_a_trusted_proxy(caplog: pytest.LogCaptureFixture) -> None:
    base = {"mode": "required", "proxy_user_header": "X-Remote-User"}
    trusting = with_overrides(web_settings(), auth={**base, "trusted_proxies": ["127.0.0.1"]})
    distrusting = with_overrides(web_settings(), auth={**base, "trusted_proxies": ["10.9.9.9"]})
    with _real_board(trusting) as addr:
        r = httpx.get(addr.url + "/api/agents", headers={"X-Remote-User": "zhang"})
        assert r.status_code == 200
        assert httpx.get(addr.url + "/api/session", headers={"X-Remote-User": "zhang"}).json()["name"] == "zhang"
    with _real_board(distrusting) as addr:
        r = httpx.get(addr.url + "/api/agents", headers={"X-Remote-User": "zhang"})
        assert r.status_code == 401


def test_a_forged_forwarded_for_does_not_change_the_client(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wallboard.audit")
    s = with_overrides(
        web_settings(),
        auth={"mode": "required", "tokens": {"ops": {"role": "admin", "sha256": token_hash(TOKENS["admin"])}}},
    )
    with _real_board(s) as addr:
        r = httpx.post(
            addr.url + "/api/broadcast",
            json={"text": "hello"},
            headers={"Authorization": "Bearer " + TOKENS["admin"], "X-Forwarded-For": "6.6.6.6"},
        )
        assert r.status_code == 200
    bc = next(r for r in caplog.records if getattr(r, "action", None) == "broadcast")
    assert bc.__dict__["client"] == "127.0.0.1"


def test_behind_a_trusted_tls_proxy_cookies_are_secure_and_hsts_is_sent() -> None:
    s = auth_settings(trusted_proxies=["127.0.0.1"])
    with _real_board(s) as addr:
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.7", "Origin": f"https://{addr.netloc}"}
        r = httpx.post(addr.url + "/api/login", json={"user": "wang", "password": PASSWORD}, headers=headers)
        assert r.status_code == 200, r.text
        assert "Secure" in r.headers["set-cookie"]
        assert r.headers["strict-transport-security"].startswith("max-age=")


# ------------------------------------------------------------------ properties


@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.dictionaries(
            st.text(max_size=8), st.one_of(st.none(), st.integers(-(2**53), 2**53), st.text(max_size=50)), max_size=4
        ).map(lambda d: __import__("orjson").dumps(d)),
    ),
    path=st.sampled_from(["/api/broadcast", "/api/login", "/api/logout"]),
)
def test_any_post_body_gets_a_json_answer_never_a_500(secured_for_properties: Board, body: bytes, path: str) -> None:
    r = secured_for_properties.client.post(
        path, content=body, headers={"Content-Type": "application/json", "Authorization": "Bearer " + TOKENS["admin"]}
    )
    assert r.status_code < 500
    data = r.json()
    assert isinstance(data, dict)
    if r.status_code >= 400:
        assert set(data) == {"error", "detail"}


@pytest.fixture(scope="module")
def secured_for_properties() -> Iterator[Board]:
    with running(auth_settings(broadcasts_per_minute=600, login_free_failures=100)) as b:
        yield b


@given(query=st.text(max_size=60), origin=st.one_of(st.none(), st.text(max_size=30)))
def test_any_socket_request_is_answered_or_refused_never_a_crash(
    secured_for_properties: Board, query: str, origin: str | None
) -> None:
    headers = {"Authorization": "Bearer " + TOKENS["display"]}
    if origin is not None and origin.isprintable() and origin.isascii():
        headers["Origin"] = origin
    try:
        with secured_for_properties.client.websocket_connect("/ws?views=" + quote(query), headers=headers) as ws:
            first = recv(ws)
            assert first["type"] == "hello"
            assert "agents" not in first["views"]
    except WebSocketDisconnect as exc:
        status = getattr(exc, "status_code", None)  # a denial: the handshake answered with an HTTP status
        assert status in (400, 403) if status is not None else exc.code == 1008, exc
