"""The board behind a real nginx with TLS (tests/nginx.py running deploy/nginx/wallboard.conf), from the outside.

The app is the real one under uvicorn with the options `wallboard serve` passes, with authentication
required (auth.mode 'none' refuses whatever comes through a proxy), plus a test endpoint (``/_test/echo``,
in front of the app's guard) that answers what the app receives through the proxy. Clients speak HTTPS and
WSS, trust only the test CA, and connect from 127.0.0.5, so the browser's address differs from nginx's
(127.0.0.1). These tests need Debian's nginx (scripts/install installs it) and fail without it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests import nginx
from tests.conftest import make_settings
from tests.servers import ROOT, Address, in_thread
from wallboard.settings import Settings
from wallboard.sources.memory import ListSource
from wallboard.web import create_app

QUEUE = "信用卡"
TOKEN = "nginx-test-supervisor-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
IDENTITY = [
    # nginx checks the user (basic auth here; an SSO module elsewhere) and passes the name it checked.
    'auth_basic "wallboard";',
    "proxy_set_header X-Remote-User $remote_user;",
    # The browser's Basic credentials are nginx's business: the board would take them for a wrong token.
    'proxy_set_header Authorization "";',
]


def board_settings(**auth: Any) -> Settings:
    return make_settings(
        web={"push_interval": 0.25},
        auth={
            "mode": "required",
            "trusted_proxies": ["127.0.0.1"],
            "tokens": {"wall": {"role": "supervisor", "sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}},
            **auth,
        },
    )


def board_app(settings: Settings) -> Any:
    """The board fed one waiting call (ticking every 0.25 s), with the echo endpoint in front."""
    event = json.dumps(
        {
            "type": "call.offered",
            "event_id": "e1",
            "ts": int(time.time() * 1000) - 5000,
            "interaction_id": "c1",
            "queue": QUEUE,
        }
    ).encode()
    return nginx.with_echo(create_app(settings, ListSource([[event]])))


def _fail(error: Exception) -> NoReturn:
    pytest.fail(f"{error}", pytrace=False)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> nginx.TLSFiles:
    return nginx.tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def upstream() -> Iterator[Address]:
    with in_thread(board_app(board_settings())) as address:
        yield address


@pytest.fixture(scope="module")
def proxy(upstream: Address, tls: nginx.TLSFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[nginx.Proxy]:
    try:
        with nginx.running(upstream, tmp_path_factory.mktemp("nginx"), tls) as running:
            yield running
    except nginx.NginxError as exc:
        _fail(exc)


@pytest.fixture
def client(proxy: nginx.Proxy) -> Iterator[httpx.Client]:
    with proxy.client(headers=BEARER) as c:
        yield c


def echo(client: httpx.Client, **headers: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    answer = client.get(nginx.ECHO_PATH, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body, nginx.received_headers(body)


def from_nginx(response: httpx.Response) -> bool:
    """nginx's own error page (the app answers errors as JSON, and never says 'nginx')."""
    return (
        response.headers.get("content-type", "").startswith("text/html") and "<center>nginx</center>" in response.text
    )


# ---------------------------------------------------------------- pages, API, WebSocket


def test_pages_and_api_over_https(client: httpx.Client) -> None:
    tv = client.get("/tv")
    assert tv.status_code == 200
    assert tv.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in tv.headers["content-security-policy"]  # the app's headers pass through
    # The app knows the browser came over TLS (X-Forwarded-Proto), so it pins it to HTTPS.
    assert tv.headers["strict-transport-security"].startswith("max-age=")
    assert client.get("/supervisor").status_code == 200
    root = client.get("/?lang=en")
    assert (root.status_code, root.headers["location"]) == (302, "tv?lang=en")
    snapshot = client.get("/api/snapshot")
    assert snapshot.status_code == 200
    assert snapshot.json()["queues"][QUEUE]["channels"]["call"]["waiting"] == 1
    script = re.search(r'<script src="(/static/[^"]+)"', tv.text)  # the page's first script, as linked
    assert script is not None
    static = client.get(script.group(1))
    assert static.status_code == 200 and "javascript" in static.headers["content-type"]
    assert client.get("/healthz").json()["status"] == "ok"


def test_the_app_still_asks_who_you_are(proxy: nginx.Proxy) -> None:
    with proxy.client() as anonymous:
        assert anonymous.get("/api/snapshot").status_code == 401
        assert anonymous.get("/tv").headers["location"].startswith("/login?next=")


def test_the_certificate_is_checked(proxy: nginx.Proxy) -> None:
    """A client that does not trust the test CA is refused: TLS is real, not a pass-through."""
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(proxy.origin + "/healthz", verify=ssl.create_default_context(), timeout=10)


def test_plain_http_redirects_to_https(proxy: nginx.Proxy) -> None:
    answer = httpx.get(proxy.http_origin + "/tv?queues=a", timeout=10)
    assert answer.status_code == 301
    assert answer.headers["location"] == "https://127.0.0.1/tv?queues=a"


def test_websocket_over_wss_gets_hello_snapshot_and_ticks(proxy: nginx.Proxy) -> None:
    with proxy.connect_ws("/ws?views=snapshot", additional_headers=BEARER) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert (hello["type"], hello["protocol"], hello["views"]) == ("hello", 3, ["snapshot"])
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "snapshot"
        assert first["data"]["queues"][QUEUE]["channels"]["call"]["waiting"] == 1
        # Then one message per tick (a heartbeat when nothing changed), through the proxy as they come.
        seqs: list[int] = []
        while len(seqs) < 3:
            message = json.loads(ws.recv(timeout=10))
            if message["type"] in ("snapshot", "heartbeat"):
                seqs.append(message["seq"])
        assert seqs == sorted(seqs) and seqs[-1] > seqs[0]


def test_websocket_asks_are_answered_through_the_proxy(proxy: nginx.Proxy) -> None:
    """The client's messages reach the app too: a ping gets a heartbeat."""
    with proxy.connect_ws("/ws?views=summary", additional_headers=BEARER) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        ws.send(json.dumps({"type": "ping"}))
        kinds = {json.loads(ws.recv(timeout=10))["type"] for _ in range(4)}
        assert "heartbeat" in kinds


def test_the_websocket_refuses_a_client_without_credentials(proxy: nginx.Proxy) -> None:
    with pytest.raises(InvalidStatus, match="401"):
        proxy.connect_ws("/ws")


# ---------------------------------------------------------------- what the app receives


def test_the_app_gets_the_address_nginx_saw_not_the_one_the_client_claims(
    proxy: nginx.Proxy, client: httpx.Client
) -> None:
    body, headers = echo(
        client,
        **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "http", "Forwarded": "for=203.0.113.8;proto=http"},
    )
    # nginx replaced the header with the one address it saw (the client's, not its own, not the claim).
    assert headers["x-forwarded-for"] == [nginx.CLIENT_ADDRESS]
    assert headers["x-forwarded-proto"] == ["https"]
    assert "forwarded" not in headers
    assert headers["host"] == ["127.0.0.1"]  # $host: the name, without the port
    # uvicorn leaves the connection as it is (proxy_headers off, as wallboard serve runs it): the peer is
    # nginx, and the board's guard reads the forwarded headers itself, from auth.trusted_proxies only.
    assert (body["client"][0], body["scheme"]) == ("127.0.0.1", "http")
    # The claim did reach nginx (its access log records what the client sent): it was dropped there.
    time.sleep(0.1)  # the access log line is written once the answer is sent
    lines = proxy.access_log.read_text().splitlines()
    assert any(
        line.startswith(nginx.CLIENT_ADDRESS) and nginx.ECHO_PATH in line and 'xff="203.0.113.7"' in line
        for line in lines
    )


def test_the_board_knows_the_browser_by_the_address_nginx_saw(
    proxy: nginx.Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    """The guard's client address (its audit log, its limits): the browser's, whatever the browser claims."""
    caplog.set_level(logging.WARNING, logger="wallboard.audit")
    with proxy.client(headers={"Authorization": "Bearer not-a-token", "X-Forwarded-For": "203.0.113.7"}) as c:
        assert c.get("/api/snapshot").status_code == 401
    refused = [r for r in caplog.records if getattr(r, "action", None) == "token_refused"]
    assert [getattr(r, "client", None) for r in refused] == [nginx.CLIENT_ADDRESS]


def test_the_websocket_gets_the_same_headers(proxy: nginx.Proxy) -> None:
    with proxy.connect_ws(nginx.ECHO_PATH, additional_headers={"X-Forwarded-For": "203.0.113.7"}) as ws:
        body = json.loads(ws.recv(timeout=10))
    headers = nginx.received_headers(body)
    assert headers["x-forwarded-for"] == [nginx.CLIENT_ADDRESS]
    assert headers["x-forwarded-proto"] == ["https"]
    assert headers["upgrade"] == ["websocket"]
    assert body["client"][0] == "127.0.0.1"


# ---------------------------------------------------------------- limits


def test_a_header_over_8k_is_refused_by_nginx(client: httpx.Client) -> None:
    answer = client.get("/api/snapshot", headers={"X-Big": "x" * 9000})
    assert answer.status_code == 400 and from_nginx(answer)
    # Headers well within the limit (a long cookie or token) pass.
    assert client.get("/api/snapshot", headers={"X-Big": "x" * 6000}).status_code == 200


def test_a_request_line_over_8k_is_refused_by_nginx(client: httpx.Client) -> None:
    answer = client.get("/api/snapshot?queues=" + "q" * 9000)
    assert answer.status_code == 414 and from_nginx(answer)


def test_many_headers_that_fill_the_buffers_are_refused_by_nginx(client: httpx.Client) -> None:
    """Four 8 KiB buffers for the whole header: five headers of 7 KiB do not fit."""
    answer = client.get("/api/snapshot", headers={f"X-Part-{i}": "x" * 7000 for i in range(5)})
    assert answer.status_code == 400 and from_nginx(answer)


def test_a_body_over_64k_is_refused_by_nginx(client: httpx.Client) -> None:
    answer = client.post("/api/broadcast", json={"text": "x" * 70_000})
    assert answer.status_code == 413 and from_nginx(answer)
    # Within the limit, the app answers itself (its own JSON error: the text is over broadcast_max_length).
    inside = client.post("/api/broadcast", json={"text": "x" * 1000})
    assert inside.status_code == 400 and inside.json()["error"] == "too_long"


def test_metrics_are_not_public(client: httpx.Client) -> None:
    answer = client.get("/metrics")
    assert answer.status_code == 403 and from_nginx(answer)


# ---------------------------------------------------------------- an identity header from the proxy's login

# The proxy vouches for the user; the board believes the header only from auth.trusted_proxies.
BASIC_ALICE = "Basic " + base64.b64encode(b"alice:alice-secret").decode()
PROXY_LOGIN = {"proxy_user_header": "X-Remote-User", "proxy_role": "display", "users": {"alice": {"role": "admin"}}}


@pytest.fixture
def htpasswd(tmp_path: Path) -> Path:
    hashed = subprocess.run(
        ["openssl", "passwd", "-apr1", "alice-secret"], capture_output=True, text=True, check=True
    ).stdout.strip()
    users = tmp_path / "htpasswd"
    users.write_text(f"alice:{hashed}\n")
    return users


def test_the_proxy_login_reaches_the_board_and_cannot_be_forged(
    tls: nginx.TLSFiles, tmp_path: Path, htpasswd: Path
) -> None:
    """alice signs in at nginx (basic auth); the board takes her name from X-Remote-User, not the client's claim."""
    extra = [*IDENTITY, f"auth_basic_user_file {htpasswd};"]
    try:
        with (
            in_thread(board_app(board_settings(**PROXY_LOGIN))) as upstream,
            nginx.running(upstream, tmp_path / "nginx", tls, extra=extra) as proxy,
            proxy.client() as client,
        ):
            assert "proxy_set_header X-Remote-User $remote_user;" in proxy.config_file.read_text()
            refused = client.get("/api/session")
            assert refused.status_code == 401 and from_nginx(refused)  # no login at nginx, no request to the board
            _, headers = echo(client, Authorization=BASIC_ALICE, **{"X-Remote-User": "root"})
            assert headers["x-remote-user"] == ["alice"]  # nginx's, replacing the one the client sent
            assert "authorization" not in headers
            answer = client.get("/api/session", auth=("alice", "alice-secret"), headers={"X-Remote-User": "root"})
            assert answer.status_code == 200
            session = answer.json()
            assert (session["authenticated"], session["name"], session["role"]) == (True, "alice", "admin")
            with proxy.connect_ws("/ws?views=agents", additional_headers={"Authorization": BASIC_ALICE}) as ws:
                assert json.loads(ws.recv(timeout=10))["type"] == "hello"
                assert json.loads(ws.recv(timeout=10))["type"] == "agents"
    except nginx.NginxError as exc:
        _fail(exc)


# ---------------------------------------------------------------- the shipped files


def _fenced_blocks(markdown: str, language: str) -> list[str]:
    blocks: list[str] = []
    current: list[str] | None = None
    for line in markdown.splitlines(keepends=True):
        if current is None and line.strip() == f"```{language}":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_the_deployment_page_shows_the_tested_files() -> None:
    page = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert (ROOT / "deploy" / "nginx" / "wallboard.conf").read_text() in _fenced_blocks(page, "nginx")
    assert (ROOT / "deploy" / "wallboard.service").read_text() in _fenced_blocks(page, "ini")


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    """``systemd-analyze verify``: every key known, every value valid (the unit pointed at this checkout's command)."""
    wallboard = Path(sys.executable).parent / "wallboard"
    assert wallboard.is_file(), f"no {wallboard}: run scripts/install"
    unit = tmp_path / "wallboard.service"
    unit.write_text(
        (ROOT / "deploy" / "wallboard.service").read_text().replace("/opt/wallboard/bin/wallboard", str(wallboard))
    )
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")
