"""The pure parts of access control (wallboard/web/auth.py): client addresses through proxies, signed sessions,
back-off and rate limits, with the clock passed in."""

from __future__ import annotations

import ipaddress

from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_settings
from wallboard.web.auth import Authenticator, Backoff, Sessions, TokenBucket, client_address, parse_networks

TRUSTED = parse_networks(["127.0.0.1", "10.0.0.0/8"])
ips = st.ip_addresses(v=4).map(str)


@given(peer=ips, forwarded=st.lists(ips, max_size=5))
def test_forwarded_for_is_believed_only_from_a_trusted_peer(peer: str, forwarded: list[str]) -> None:
    got = client_address(peer, ", ".join(forwarded), TRUSTED)
    trusted = any(ipaddress.ip_address(peer) in n for n in TRUSTED)
    if not trusted or not forwarded:
        assert got == peer
    else:
        # the right-most hop that is not a trusted proxy: what the client wrote left of it proves nothing
        untrusted = [h for h in forwarded if not any(ipaddress.ip_address(h) in n for n in TRUSTED)]
        assert got == (untrusted[-1] if untrusted else forwarded[0])


def test_a_client_cannot_choose_its_address_through_a_proxy() -> None:
    # the client sent "X-Forwarded-For: 1.2.3.4"; nginx appended the real peer 203.0.113.9
    assert client_address("127.0.0.1", "1.2.3.4, 203.0.113.9", TRUSTED) == "203.0.113.9"
    assert client_address("203.0.113.9", "1.2.3.4", TRUSTED) == "203.0.113.9"


@given(name=st.text(min_size=1, max_size=40), flip=st.integers(min_value=0, max_value=400))
def test_a_changed_session_cookie_is_refused(name: str, flip: int) -> None:
    s = Sessions("k" * 40)
    cookie = s.issue("user", name, "$argon2id$hash", expires=2_000_000_000)
    assert s.read(cookie, now=1_900_000_000) is not None
    i = flip % len(cookie)
    changed = cookie[:i] + ("A" if cookie[i] != "A" else "B") + cookie[i + 1 :]
    assert s.read(changed, now=1_900_000_000) is None
    assert Sessions("other" * 8).read(cookie, now=1_900_000_000) is None  # another instance's secret


def test_sessions_expire_and_follow_the_settings() -> None:
    now = [1_900_000_000.0]
    hashed = PasswordHasher(1, 8, 1).hash("pw")
    auth = make_settings(
        auth={"session_secret": "k" * 40, "session_hours": 1, "users": {"wang": {"password_hash": hashed}}}
    ).auth
    a = Authenticator(auth, clock=lambda: now[0])
    principal = a.verify_password("wang", "pw")
    assert principal is not None
    cookie, expires = a.issue_session(principal, "user")
    assert expires == now[0] + 3600
    assert a.session(cookie) is not None
    now[0] += 3601
    assert a.session(cookie) is None


def test_backoff_doubles_after_the_free_failures_and_forgets() -> None:
    b = Backoff(free=3, longest=10, forget=100)
    waits = []
    for i in range(7):
        b.failed("k", now=float(i))
        waits.append(b.wait("k", now=float(i)))
    assert waits == [0, 0, 1, 2, 4, 8, 10]
    assert b.wait("k", now=200) == 0  # quiet for `forget` seconds
    b.failed("x", 0)
    b.succeeded("x")
    assert b.wait("x", 0) == 0


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    t = TokenBucket(rate=3, per=60)
    assert [t.take("a", 0) for _ in range(4)][:3] == [0, 0, 0]
    assert t.take("a", 0) > 0
    assert t.take("b", 0) == 0  # per key
    assert t.take("a", 20.5) == 0  # one back every 20 s
