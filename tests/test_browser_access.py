"""Access control in real headless Chromium: signing in, a TV's token link, and a page on a foreign origin trying
the review's attacks (reading the socket, posting a form, framing the supervisor page).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.servers import in_thread
from tests.test_browser import SETTINGS, Board, wait_state
from tests.test_browser import board as board  # the module's board: auth.mode none, as on a desk
from tests.test_browser import browser as browser
from tests.test_browser import open_page as open_page
from wallboard.web.auth import token_hash

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
TV_TOKEN = "lobby-" + "t" * 40
OPS_TOKEN = "ops-" + "o" * 40
SECURED = {
    **SETTINGS,
    "auth": {
        "mode": "required",
        "session_secret": "k" * 40,
        "users": {"wang": {"role": "supervisor", "password_hash": PasswordHasher(1, 8, 1).hash(PASSWORD)}},
        "tokens": {
            "lobby-tv": {"role": "display", "sha256": token_hash(TV_TOKEN)},
            "ops": {"role": "admin", "sha256": token_hash(OPS_TOKEN)},
        },
    },
}


class SecuredBoard(Board):
    """The board with auth required: its readiness probe and get() carry the admin token."""

    def get(self, path: str) -> Any:
        req = urllib.request.Request(self.url + path, headers={"Authorization": "Bearer " + OPS_TOKEN})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def _all_events_in(self, server: Any) -> bool:
        return bool(self.get("/api/snapshot")["status"]["events"] >= self.events)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    b = SecuredBoard(tmp_path_factory.mktemp("secured"), SECURED)
    b.start()
    yield b
    b.stop()


def test_a_supervisor_signs_in_posts_and_signs_out(secured: Board, open_page: Any) -> None:
    w = open_page(secured.url + "/supervisor?lang=en")
    page = w.page
    page.wait_for_url("**/login?next=*")
    page.fill("#login-user", "wang")
    page.fill("#login-password", "wrong password")
    w.allowed.append("status of 401")
    page.click("#login-submit")
    page.wait_for_function("() => document.querySelector('#login-status').textContent.includes('wrong')")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url("**/supervisor?lang=en")
    wait_state(page, "fresh")
    assert page.locator("#agent-table tbody tr").count() > 0
    assert page.text_content("#signed-in") == "wang"
    page.fill("#broadcast-text", "signed in and posting")
    page.click("#broadcast-send")
    page.wait_for_selector('#broadcast-status[data-result="ok"]')
    page.click("#sign-out")
    page.wait_for_url("**/login")
    page.goto(secured.url + "/api/agents")
    assert json.loads(page.inner_text("body"))["error"] == "unauthorized"


def test_a_tv_opens_its_token_link_once_and_sees_no_agents(secured: Board, open_page: Any) -> None:
    w = open_page(secured.url + "/tv?lang=en&token=" + TV_TOKEN)
    page = w.page
    page.wait_for_url(secured.url + "/tv?lang=en")  # the token is off the address bar and the history
    wait_state(page, "fresh")
    w.allowed.append("status of 403")
    status = page.evaluate("() => fetch('api/agents').then(r => r.status)")
    assert status == 403
    page.reload()
    wait_state(page, "fresh")  # the cookie keeps it signed in


ATTACK = """<!doctype html><html><body>
<iframe id="framed" src="{board}/supervisor"></iframe>
<form id="csrf" method="POST" action="{board}/api/broadcast" enctype="text/plain" target="sink">
  <input name='{{"text": "pwned", "x": "' value='"}}'></form>
<iframe name="sink"></iframe>
<script>
  window.result = {{messages: 0, closed: false}};
  var ws = new WebSocket("{ws}/ws?views=agents");
  ws.onmessage = function () {{ window.result.messages += 1; }};
  ws.onclose = function () {{ window.result.closed = true; }};
  document.getElementById("csrf").submit();
</script></body></html>"""


def test_a_foreign_page_can_neither_read_nor_post_nor_frame(board: Board, browser: Browser) -> None:
    host_url = board.url.replace("127.0.0.1", "localhost")  # the board as the victim's browser knows it
    html = ATTACK.format(board=host_url, ws=host_url.replace("http://", "ws://"))
    evil = Starlette(routes=[Route("/", lambda request: HTMLResponse(html))])
    with in_thread(evil) as addr:
        ctx = browser.new_context()
        try:
            page = ctx.new_page()
            page.goto(addr.url + "/")
            page.wait_for_function("() => window.result.closed", timeout=10_000)
            assert page.evaluate("() => window.result.messages") == 0
            page.wait_for_timeout(1000)  # the form has gone out
            handle = page.query_selector("#framed")
            framed = handle.content_frame() if handle is not None else None
            assert framed is not None
            assert framed.url.startswith("chrome-error://"), framed.url  # frame-ancestors 'none' blocked it
        finally:
            ctx.close()
    with urllib.request.urlopen(board.url + "/api/broadcast", timeout=5) as resp:
        assert json.loads(resp.read())["text"] != "pwned"


def test_a_queue_named_like_an_object_key_is_a_queue_like_any_other(board: Board, open_page: Any) -> None:
    """The review's `__proto__` queue vanished from the supervisor's dropdowns ({} used as a set)."""
    page = open_page(board.url + "/supervisor?lang=en").page
    wait_state(page, "fresh")
    names = ["__proto__", "constructor", "信用卡", "__proto__", "toString"]
    got = page.evaluate("names => WB.table.sortedUnique(names)", names)
    assert sorted(got) == sorted({"__proto__", "constructor", "信用卡", "toString"})
