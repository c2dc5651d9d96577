"""Who may open one more WebSocket: limits on the connections in all and per client address.

A wall of TVs or a whole office may sit behind one NAT address, so the limit
per address is generous (``[server] max_ws_connections_per_client``); it is
there so that one host cannot take every connection the server allows
(``max_ws_connections``).  An IPv6 host can use any address of its /64, so
IPv6 addresses are counted by their /64.  A refused socket is closed with
1013 ("try again later") and a reason saying which limit (docs/protocol.md):
the page reconnects with backoff, as after a restart.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

CLIENT_SCOPE_KEY = "wallboard.client"
"""Where the authentication middleware puts the client's address, resolved through the trusted proxies."""
CLOSE_REFUSED = 1013
"""The close code of a refused socket: "try again later" (RFC 6455 section 7.4.1, IANA registry)."""


def client_address(scope: Mapping[str, Any]) -> str:
    """The client's address: the one resolved through trusted proxies when known, else the peer's ("" if none)."""
    resolved = scope.get(CLIENT_SCOPE_KEY)
    if resolved:
        return str(resolved)
    peer = scope.get("client")
    return str(peer[0]) if peer else ""


def address_key(address: str) -> str:
    """What the per-address limit counts: an IPv4 address, an IPv6 /64 network, else the text as given."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # a Unix socket's peer (""), or a name a proxy gave
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True)
class Refusal:
    """Why a socket is refused: ``reason`` for the metrics, ``text`` for the close frame (at most 123 bytes)."""

    reason: Literal["server_full", "client_full"]
    text: str
    first: bool
    """True for the first refusal since the limit was last below its maximum (log it once, not per socket)."""


class Admission:
    """The WebSocket connections held, in all and per client address (see the module docstring)."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        """0: no limit per address."""
        self.held = 0
        self._by_key: dict[str, int] = {}
        self._full: set[str] = set()  # keys refused since they were last below the limit ("" : the server's)

    def count(self, address: str) -> int:
        """Connections held from ``address`` (its /64 for IPv6)."""
        return self._by_key.get(address_key(address), 0)

    def admit(self, address: str) -> Refusal | None:
        """Count one more connection from ``address``, or say why not (then nothing is counted)."""
        key = address_key(address)
        held = self._by_key.get(key, 0)
        if self.held >= self.total:
            return self._refuse("", "server_full", f"server full: {self.total} connections; try again later")
        if self.per_client and held >= self.per_client:
            return self._refuse(
                "client:" + key,
                "client_full",
                f"too many connections from this address: {self.per_client}; try again later",
            )
        self.held += 1
        self._by_key[key] = held + 1
        return None

    def release(self, address: str) -> None:
        """Forget one connection from ``address`` (one that ``admit`` counted)."""
        key = address_key(address)
        held = self._by_key[key] - 1
        if held:
            self._by_key[key] = held
        else:
            del self._by_key[key]
        self.held -= 1
        self._full.discard("")
        self._full.discard("client:" + key)

    def _refuse(self, mark: str, reason: Literal["server_full", "client_full"], text: str) -> Refusal:
        first = mark not in self._full
        self._full.add(mark)
        return Refusal(reason, text, first)
