"""Who is asking, and what they may see: roles, the one policy table, credentials and sessions.

One place answers "may this principal see this": ``POLICY`` (HTTP routes and
the socket) and ``VIEW_PERMISSIONS`` (the socket's views).  The middleware
(wallboard/web/guard.py) resolves the principal once per request, as
datasette resolves its actor, and asks ``allowed``; endpoints never decide.

Roles are sets of permissions rather than a ladder, so that a Prometheus
scraper (``monitor``) can read /metrics without being able to post to the
wall.  docs/security.md is the user's version of this module.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import orjson

from wallboard.settings import AuthSettings, Role

Permission = Literal["board", "agents", "broadcast", "acknowledge", "metrics"]

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    "display": frozenset({"board"}),
    "supervisor": frozenset({"board", "agents", "broadcast", "acknowledge"}),
    "admin": frozenset({"board", "agents", "broadcast", "acknowledge", "metrics"}),
    "monitor": frozenset({"metrics"}),
}
"""What each role may do: ``board`` aggregate numbers and the ticker (the TV); ``agents`` agent rows and names;
``broadcast`` set the message on every board; ``acknowledge`` acknowledge an alert; ``metrics`` the Prometheus
scrape."""

PUBLIC: None = None
"""Anyone, signed in or not (health checks for load balancers, the login page, static files)."""

POLICY: Mapping[tuple[str, str], Permission | None] = {
    ("GET", "/"): PUBLIC,  # a redirect to /tv
    ("GET", "/login"): PUBLIC,
    ("POST", "/api/login"): PUBLIC,
    ("POST", "/api/logout"): PUBLIC,
    ("GET", "/api/session"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/static/"): PUBLIC,  # a prefix: the pages' code and styles hold no data
    ("GET", "/tv"): "board",
    ("GET", "/supervisor"): "agents",
    ("GET", "/api/snapshot"): "board",
    ("GET", "/api/intraday"): "board",
    ("GET", "/api/agents"): "agents",
    ("GET", "/api/broadcast"): "board",
    ("GET", "/api/alerts"): "board",  # rule names and queue numbers, no person's data: the TVs show them too
    ("POST", "/api/alerts/ack"): "acknowledge",
    ("POST", "/api/broadcast"): "broadcast",
    ("GET", "/metrics"): "metrics",
    ("WS", "/ws"): "board",
}
"""Every route, by (method, path), and the permission it needs.  A path missing here is answered 404 before any
endpoint runs (deny by default); tests/test_access.py checks that this table and the routes are the same set."""

VIEW_PERMISSIONS: Mapping[str, Permission] = {
    "snapshot": "board",
    "summary": "board",
    "selection": "board",
    "intraday": "board",
    "agents": "agents",
}
"""The socket's views (``/ws?views=...``) and the permission each needs."""

PAGES = frozenset({"/tv", "/supervisor"})
"""Routes a person opens in a browser: without a session they redirect to the login page instead of a 401."""


def policy_for(method: str, path: str) -> tuple[bool, Permission | None]:
    """(known route, the permission it needs); HEAD is GET's."""
    method = "GET" if method == "HEAD" else method
    if (method, path) in POLICY:
        return True, POLICY[(method, path)]
    if path.startswith("/static/") and method == "GET":
        return True, POLICY[("GET", "/static/")]
    return False, None


def known_path(path: str) -> bool:
    """A path some route serves (with another method maybe: that is a 405, not a 404)."""
    return path.startswith("/static/") or any(p == path for _, p in POLICY)


@dataclass(frozen=True)
class Principal:
    """Who is asking.  ``kind``: how they proved it (``local`` when auth.mode is none)."""

    name: str
    role: Role | None
    kind: Literal["anonymous", "local", "session", "token", "proxy"]
    expires: float | None = None
    """Unix seconds when the session ends (sockets are closed then); None: never / not a session."""

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role] if self.role is not None else frozenset()

    def may(self, permission: Permission | None) -> bool:
        return permission is None or permission in self.permissions


ANONYMOUS = Principal("anonymous", None, "anonymous")
LOCAL = Principal("local", "admin", "local")


# ------------------------------------------------------------------ addresses


def parse_networks(specs: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``["127.0.0.1", "10.0.0.0/8"]`` -> networks (the settings checked them already)."""
    return tuple(ipaddress.ip_network(s, strict=False) for s in specs)


def _in(addr: str, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(
    peer: str, forwarded_for: str | None, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> str:
    """The real client: the peer, unless the peer is a trusted proxy; then the right-most untrusted
    address of X-Forwarded-For (addresses left of it were written by the client and prove nothing)."""
    if not trusted or not _in(peer, trusted) or not forwarded_for:
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop[:64]
    return hops[0][:64] if hops else peer


# ------------------------------------------------------------------ tokens and sessions


def token_hash(token: str) -> str:
    """What the settings keep of a token: its SHA-256 (a token is long and random, so no salt or stretching)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A display or API token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fingerprint(credential: str) -> str:
    """A short digest of the stored credential: changing a password or a token ends the sessions made with it."""
    return hashlib.sha256(credential.encode()).hexdigest()[:16]


SESSION_COOKIE = "wallboard_session"
MAX_COOKIE = 1024
"""Longest session cookie read (ours are about 200 characters)."""


class Sessions:
    """Signed, expiring session cookies.  Stateless, so any instance holding the same secret accepts them.

    The cookie names the user or token and a fingerprint of its stored credential; the role is read from the
    settings at each request, so removing a user or token, or changing a role, takes effect on the next request.
    """

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"wallboard session v1\x00" + secret.encode()).digest()

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def issue(self, kind: Literal["user", "token"], name: str, credential: str, expires: float) -> str:
        payload = orjson.dumps({"k": kind, "n": name, "f": _fingerprint(credential), "x": math.floor(expires)})
        return _b64(payload) + "." + self._sign(payload)

    def read(self, cookie: str, now: float) -> tuple[str, str, str, float] | None:
        """(kind, name, fingerprint, expires) of a valid unexpired cookie, else None."""
        if len(cookie) > MAX_COOKIE or cookie.count(".") != 1:
            return None
        body, sig = cookie.split(".")
        try:
            payload = _unb64(body)
        except ValueError:
            return None
        if not hmac.compare_digest(sig, self._sign(payload)):
            return None
        try:
            data = orjson.loads(payload)
            kind, name, fp, expires = data["k"], data["n"], data["f"], data["x"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return None
        if not (isinstance(kind, str) and isinstance(name, str) and isinstance(fp, str) and isinstance(expires, int)):
            return None
        if expires <= now:
            return None
        return kind, name, fp, float(expires)


# ------------------------------------------------------------------ rate limits


@dataclass
class _Failures:
    count: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


@dataclass
class Backoff:
    """Failed attempts per key (a client address, a user name): after ``free`` failures each further one doubles
    the wait before the next attempt is heard, up to ``longest`` seconds.  Quiet for ``forget`` s resets a key."""

    free: int = 5
    longest: float = 900.0
    forget: float = 3600.0
    max_keys: int = 100_000
    _keys: dict[str, _Failures] = field(default_factory=dict)

    def wait(self, key: str, now: float) -> float:
        """Seconds before ``key`` may try again (0: now)."""
        f = self._keys.get(key)
        if f is None:
            return 0.0
        if now - f.last > self.forget:
            del self._keys[key]
            return 0.0
        return max(0.0, f.blocked_until - now)

    def failed(self, key: str, now: float) -> None:
        f = self._keys.get(key)
        if f is None:
            if len(self._keys) >= self.max_keys:
                self._prune(now)
            f = self._keys[key] = _Failures()
        f.count += 1
        f.last = now
        if f.count >= self.free:
            f.blocked_until = now + min(self.longest, 2.0 ** (f.count - self.free))

    def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)

    def _prune(self, now: float) -> None:
        stale = [k for k, f in self._keys.items() if now - f.last > self.forget or f.blocked_until <= now]
        for k in stale:
            del self._keys[k]
        if len(self._keys) >= self.max_keys:  # an address-spraying flood: forget the oldest half
            for k in sorted(self._keys, key=lambda k: self._keys[k].last)[: self.max_keys // 2]:
                del self._keys[k]


@dataclass
class TokenBucket:
    """``rate`` actions per ``per`` seconds for each key, in bursts of up to ``rate``."""

    rate: float
    per: float = 60.0
    max_keys: int = 10_000
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, now: float) -> float:
        """Take one: 0 if allowed, else the seconds until one is available."""
        tokens, at = self._state.get(key, (self.rate, now))
        tokens = min(self.rate, tokens + (now - at) * self.rate / self.per)
        if tokens >= 1:
            if key not in self._state and len(self._state) >= self.max_keys:
                self._state.clear()
            self._state[key] = (tokens - 1, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1 - tokens) * self.per / self.rate


# ------------------------------------------------------------------ the authenticator

MAX_USER_NAME = 128


class Authenticator:
    """Credentials -> principals, for the configured ``[auth]``.  Pure but for the password hasher."""

    def __init__(self, settings: AuthSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.mode = settings.mode
        self.trusted_proxies = parse_networks(settings.trusted_proxies)
        self.sessions = Sessions(settings.session_secret) if settings.session_secret else None
        self._tokens = {t.sha256: name for name, t in settings.tokens.items()}
        self.failures = Backoff(free=settings.login_free_failures, longest=settings.login_backoff_max)
        self.broadcasts = TokenBucket(rate=settings.broadcasts_per_minute)
        from argon2 import PasswordHasher

        self._hasher = PasswordHasher()
        self._dummy: str | None = None
        """Verified against when the user is unknown: a wrong name costs what a wrong password costs."""

    def trusts(self, peer: str) -> bool:
        """Whether the direct peer is one of the configured reverse proxies."""
        return _in(peer, self.trusted_proxies)

    # -- bearer tokens and display links

    def token(self, given: str) -> tuple[str, Principal] | None:
        """(token name, principal) for a configured token, else None."""
        if not given or len(given) > 512:
            return None
        name = self._tokens.get(token_hash(given))
        if name is None:
            return None
        return name, Principal(name, self.settings.tokens[name].role, "token")

    # -- passwords

    def verify_password(self, user: str, password: str) -> Principal | None:
        """The user's principal when the password is right (blocking: argon2 takes ~50-300 ms; run in a thread)."""
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        account = self.settings.users.get(user)
        if account is None or not account.password_hash:
            # An unknown name costs what a wrong password costs: no probing for user names by the time taken.
            if self._dummy is None:
                self._dummy = self._hasher.hash(secrets.token_hex(16))
            with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
                self._hasher.verify(self._dummy, password)
            return None
        try:
            self._hasher.verify(account.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return Principal(user, account.role, "session")

    # -- session cookies

    def issue_session(self, principal: Principal, via: Literal["user", "token"]) -> tuple[str, float]:
        """(cookie value, expires) for a signed-in user or a display that came with its token."""
        assert self.sessions is not None, "sessions need auth.session_secret (the settings check it)"
        now = self.clock()
        if via == "user":
            credential = self.settings.users[principal.name].password_hash
            expires = now + self.settings.session_hours * 3600
        else:
            credential = self.settings.tokens[principal.name].sha256
            expires = now + self.settings.display_session_days * 86400
        return self.sessions.issue(via, principal.name, credential, expires), expires

    def session(self, cookie: str) -> Principal | None:
        """The principal of a valid session cookie whose user or token is still configured, unchanged."""
        if self.sessions is None:
            return None
        read = self.sessions.read(cookie, self.clock())
        if read is None:
            return None
        kind, name, fp, expires = read
        if kind == "user":
            account = self.settings.users.get(name)
            if account is None or not account.password_hash or _fingerprint(account.password_hash) != fp:
                return None
            return Principal(name, account.role, "session", expires)
        if kind == "token":
            tok = self.settings.tokens.get(name)
            if tok is None or _fingerprint(tok.sha256) != fp:
                return None
            return Principal(name, tok.role, "session", expires)
        return None

    # -- the reverse proxy's identity header

    def proxy_identity(self, peer: str, value: str | None) -> Principal | None:
        """The user the proxy vouches for, when the header is set and the direct peer is a trusted proxy."""
        if not self.settings.proxy_user_header or value is None or not _in(peer, self.trusted_proxies):
            return None
        name = value.strip()
        if not name or len(name) > MAX_USER_NAME or not name.isprintable():
            return None
        account = self.settings.users.get(name)
        return Principal(name, account.role if account is not None else self.settings.proxy_role, "proxy")
