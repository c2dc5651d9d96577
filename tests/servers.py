"""Test servers: free ports, the app under uvicorn in this process, and a server in a process of its own.

One harness for the tests, bench/ and scripts/screenshots.py (those put the checkout on ``sys.path``):

- ``free_port()``: a port of 127.0.0.1 the OS picks (ephemeral range), for a server started right away;
  ``free_ports(n)``: ``n`` distinct ports *below* the ephemeral range, for a server that goes away and
  comes back on the same ports (the Kafka test broker).
- ``in_thread(app)``: the app under uvicorn in a thread of this process, as ``wallboard serve`` runs it.
- ``AppProcess``: a server in a subprocess, started once it answers (``/healthz`` by default), always
  stopped. ``AppProcess.wallboard("demo", ...)`` runs the ``wallboard`` command itself;
  ``AppProcess.factory("module:function", ...)`` runs ``python -m tests.servers module:function PORT ARGS``,
  which serves the app that function builds, with ``serve()``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# Linux hands out client ports from 32768 up (net.ipv4.ip_local_port_range): a port below that is never
# held by one of this run's own client connections when a server comes back on it after a restart.
BELOW_EPHEMERAL = (20000, 32000)


def free_port() -> int:
    """A free port of 127.0.0.1, picked by the OS (from the ephemeral range), for a server started now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, *, between: tuple[int, int] = BELOW_EPHEMERAL) -> list[int]:
    """``count`` distinct free ports of 127.0.0.1 in ``[low, high)``, below the ephemeral range by default.

    For a server that stops and starts again on the same ports while clients of this process keep
    connecting: a port from the ephemeral range could meanwhile be taken as a client's local port.
    """
    low, high = between
    ports: list[int] = []
    for _ in range(200 * count):
        port = random.randrange(low, high)
        if port in ports:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"no {count} free ports found on {HOST} between {low} and {high}")


def get_json(url: str, *, timeout: float = 10) -> Any:
    """GET ``url`` and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


@dataclass(frozen=True)
class Address:
    """Where a test server listens."""

    port: int
    host: str = HOST

    @property
    def netloc(self) -> str:
        """``host:port``, as in ``ws://{netloc}/ws``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """``http://host:port``, without a trailing slash."""
        return f"http://{self.netloc}"


def uvicorn_options(app: Any = None, **overrides: Any) -> dict[str, Any]:
    """uvicorn's options as ``wallboard serve`` passes them for ``app``, quieter, with ``overrides``.

    ``wallboard.web.serving.uvicorn_options`` of the app's settings (the default settings for an app that
    is not a wallboard app): the project's WebSocket protocol (direct frame writes), no per-message
    deflate, the limits, no proxy headers.
    """
    from wallboard.settings import parse_settings
    from wallboard.web.serving import uvicorn_options as wallboard_options

    live = getattr(getattr(app, "state", None), "live", None)
    settings = live.settings if live is not None else parse_settings({}, environ={})
    return {"log_level": "warning", **wallboard_options(settings), **overrides}


@contextlib.contextmanager
def in_thread(app: Any, *, timeout_s: float = 20, **options: Any) -> Iterator[Address]:
    """The app under uvicorn in a daemon thread of this process, on a free port of 127.0.0.1.

    ``options`` go to ``uvicorn.Config`` over ``uvicorn_options()``. The socket is bound here, before
    the server starts, so the port is known and nobody else can take it. The server is stopped (its
    lifespan shut down) when the block ends, or when it does not start.
    """
    import uvicorn

    sock = socket.socket()
    sock.bind((HOST, 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **uvicorn_options(app, **options)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn exited during start-up")
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start within {timeout_s}s")
            time.sleep(0.01)
        yield Address(int(sock.getsockname()[1]))
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def serve(app: Any, port: int, **options: Any) -> None:
    """Serve ``app`` on 127.0.0.1:``port`` until SIGTERM or SIGINT: the server side of an ``AppProcess``."""
    import uvicorn

    uvicorn.run(app, host=HOST, port=port, **uvicorn_options(app, **options))


Ready = Callable[["AppProcess"], bool]


def wait_until(condition: Callable[[], bool], what: str, limit_s: float = 30) -> float:
    """Poll ``condition`` every 50 ms until it holds; the seconds it took (AssertionError naming ``what`` after
    ``limit_s``)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > limit_s:
            raise AssertionError(f"timed out after {limit_s} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def answers(path: str) -> Ready:
    """Readiness: ``path`` answers 200 (``/healthz``: the app is up; ``/readyz``: its source has caught up)."""

    def ready(server: AppProcess) -> bool:
        with urllib.request.urlopen(server.url + path, timeout=5) as resp:
            return bool(resp.status == 200)

    return ready


class AppProcess:
    """A server in a process of its own on 127.0.0.1:``port``; ``stop()`` then ``start()`` keeps the port.

    ``start()`` (or ``with``) returns once ``ready(self)`` is true (default: ``/healthz`` answers 200; an
    ``OSError``, ``ValueError`` or ``KeyError`` from it means "not yet"), and raises with the end of the
    log if the process exits first or is not ready within ``timeout_s``, having stopped it. ``stop()``
    sends SIGTERM, then SIGKILL after ``stop_timeout_s``. The process runs from the checkout, with the
    checkout on ``PYTHONPATH`` and without the caller's ``WALLBOARD_*`` variables; its output goes to
    ``log`` (appended) or, without one, to this process's.
    """

    def __init__(
        self,
        argv: Sequence[str],
        port: int,
        *,
        ready: Ready | None = None,
        timeout_s: float = 30,
        stop_timeout_s: float = 10,
        log: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.address = Address(port)
        self.ready = ready or answers("/healthz")
        self.timeout_s = timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.log = log
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def wallboard(cls, command: str, *args: str, port: int | None = None, **kwargs: Any) -> AppProcess:
        """``wallboard COMMAND --host 127.0.0.1 --port PORT ARGS`` (``demo``, ``serve``) with this interpreter."""
        port = free_port() if port is None else port
        argv = [sys.executable, "-m", "wallboard", command, "--host", HOST, "--port", str(port), *args]
        return cls(argv, port, **kwargs)

    @classmethod
    def factory(cls, spec: str, *args: str, port: int | None = None, **kwargs: Any) -> AppProcess:
        """The app ``module:function(*args)`` builds, served by ``serve()`` (``python -m tests.servers``)."""
        port = free_port() if port is None else port
        return cls([sys.executable, "-m", "tests.servers", spec, str(port), *args], port, **kwargs)

    @property
    def port(self) -> int:
        return self.address.port

    @property
    def url(self) -> str:
        return self.address.url

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def get(self, path: str) -> Any:
        """GET ``path`` and decode its JSON."""
        return get_json(self.url + path, timeout=5)

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        env.update(self.env)
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(self.log.open("ab")) if self.log is not None else None
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[1:3]} exited with {self.proc.returncode}{self._tail()}")
            with contextlib.suppress(OSError, ValueError, KeyError):
                if self.ready(self):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.argv[1:3]} was not ready within {self.timeout_s}s{self._tail()}")
            time.sleep(0.1)

    def _tail(self, lines: int = 40) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return ":\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> int | None:
        """Stop the process (SIGTERM, SIGKILL after ``stop_timeout_s``); its exit status, None if never started."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def __enter__(self) -> AppProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _serve_factory(argv: list[str]) -> None:
    """``python -m tests.servers module:function PORT [ARG...]``: serve ``function(*ARGS)``."""
    if len(argv) < 2 or ":" not in argv[0]:
        raise SystemExit("usage: python -m tests.servers module:function PORT [ARG...]")
    module, _, name = argv[0].partition(":")
    app = getattr(importlib.import_module(module), name)(*argv[2:])
    serve(app, int(argv[1]))


if __name__ == "__main__":
    _serve_factory(sys.argv[1:])
