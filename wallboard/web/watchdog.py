"""systemd's service watchdog (``sd_notify``), so that a board whose source cannot go on gets restarted.

Kubernetes restarts a process whose liveness probe (``/healthz``) fails; systemd
probes no URL, but it has a watchdog: with ``Type=notify`` and ``WatchdogSec=``
in the unit it sets ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC``, and restarts a
service that stops pinging.  The app says ``READY=1`` once started and pings
``WATCHDOG=1`` from the tick loop while ``/healthz`` would answer 200; once the
source has failed for good (or the loop is stuck) the pings stop, and systemd
restarts the service within ``WatchdogSec``.  Outside systemd it does nothing.
The protocol is one datagram per message (sd_notify(3)); no library needed.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Watchdog:
    """Pings systemd's watchdog at least twice per ``WatchdogSec``; built from the environment by the CLI."""

    def __init__(self, address: str, interval_s: float | None) -> None:
        self.address = "\0" + address[1:] if address.startswith("@") else address  # '@': abstract namespace
        self.interval_s = interval_s
        """Seconds between pings (half of WATCHDOG_USEC); None: READY only, no watchdog configured."""
        self._last = float("-inf")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Watchdog | None:
        address = environ.get("NOTIFY_SOCKET", "")
        if not address:
            return None
        usec = environ.get("WATCHDOG_USEC", "")
        interval = int(usec) / 2_000_000 if usec.isdigit() and int(usec) > 0 else None
        return cls(address, interval)

    def _send(self, message: str) -> None:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode(), self.address)
        except OSError as exc:  # systemd gone or the socket unusable: the service keeps serving
            log.warning("sd_notify %s failed: %s", message.split("=")[0], exc)

    def ready(self) -> None:
        self._send("READY=1")

    def alive(self, now_s: float) -> None:
        """A ping, if one is due (``now_s``: a monotonic clock)."""
        if self.interval_s is not None and now_s - self._last >= self.interval_s:
            self._last = now_s
            self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")
