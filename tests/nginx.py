"""A real nginx with TLS in front of a test server: deploy/nginx/wallboard.conf, run as the deployment runs it.

    tls = nginx.tls_files(tmp_path)
    with in_thread(nginx.with_echo(app)) as upstream, nginx.running(upstream, tmp_path / "nginx", tls) as proxy:
        with proxy.client() as client:                      # httpx, verifying the test CA
            client.get("/api/snapshot")
        with proxy.connect_ws("/ws?views=snapshot") as ws:  # websockets, wss
            ws.recv()

- ``tls_files(dir)``: a throwaway CA and a server certificate for 127.0.0.1 and localhost, made with the
  openssl CLI by the Kafka test broker's own code (tests/broker.py ``make_tls``).
- ``render(...)``: the deployment's file with the test's addresses and certificate paths, and ``extra``
  directives on its marked line (``proxy_set_header X-Remote-User $remote_user;``, ``auth_basic ...``);
  every replaced text must occur exactly once, so the file tested is the file shipped, values aside.
- ``running(upstream, dir, tls, extra=...)``: nginx (Debian's, ``/usr/sbin/nginx``) as the master process
  of a ``daemon off`` run that needs no root: the site file inside a main config of its own, pid, logs and
  temp paths all under ``dir``; HTTPS and plain HTTP (which redirects) on free ports of 127.0.0.1. It yields
  a ``Proxy``: the public ``origin``, ``ca_file``, ``ssl_context()``, ``client()`` and ``connect_ws()`` (from
  ``CLIENT_ADDRESS``, so the browser's address differs from nginx's), ``ws_url()``, the logs.
  An nginx that is missing or does not start raises ``NginxError`` with the reason (scripts/install installs it).
- ``with_echo(app)``: the app plus ``/_test/echo`` (HTTP and WebSocket), which answers what the app receives
  from the proxy: the client address and scheme uvicorn derived, and every request header.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import broker
from tests.servers import HOST, ROOT, Address, free_port

TEMPLATE = ROOT / "deploy" / "nginx" / "wallboard.conf"
SITE_MARK = "    # Site directives (an identity header from the proxy's own login, for example) go on this line.\n"
"""The line of the template after which ``extra`` directives go (server level: every location inherits them)."""
CLIENT_ADDRESS = "127.0.0.5"
"""The address ``Proxy.client()`` and ``Proxy.connect_ws()`` connect from: loopback, but not nginx's own 127.0.0.1
(its address towards the app), so that what the app receives tells the browser from the proxy."""
ECHO_PATH = "/_test/echo"
LOG_FORMAT = '$remote_addr "$request" $status xff="$http_x_forwarded_for" upstream=$upstream_addr'
"""The access log: what each client claimed in X-Forwarded-For as it reached nginx (not what nginx passed on)."""


class NginxError(RuntimeError):
    """nginx is missing, or did not start; the message says why (with its error log's tail)."""


def nginx_binary() -> str:
    """Debian's nginx (in /usr/sbin, which a non-root PATH may lack)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise NginxError("nginx is not installed: scripts/install installs it (Debian's package 'nginx')")
    return found


@dataclass(frozen=True)
class TLSFiles:
    """PEM files: the CA the clients trust, and the server's certificate and key it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def tls_files(directory: Path) -> TLSFiles:
    """A CA and a certificate for 127.0.0.1 and localhost in ``directory``/tls (tests/broker.py ``make_tls``)."""
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    broker.make_tls(directory, broker.Config())
    tls = directory / "tls"
    return TLSFiles(tls / "ca.pem", tls / "broker.crt", tls / "broker.key")


def _replace_once(text: str, old: str, new: str) -> str:
    count = text.count(old)
    if count != 1:
        raise NginxError(f"{TEMPLATE.name}: expected {old!r} once, found it {count} times")
    return text.replace(old, new)


def render(
    template: str,
    *,
    upstream: Address | Sequence[Address],
    https_port: int,
    http_port: int,
    tls: TLSFiles,
    extra: Sequence[str] = (),
) -> str:
    """The site file with the test's addresses, certificate paths and ``extra`` directives (one per item).

    Several ``upstream`` addresses: one ``server`` line each, as docs/deployment.md "Several instances" says.
    """
    text = template
    servers = [upstream] if isinstance(upstream, Address) else list(upstream)
    for old, new in (
        (
            "server 127.0.0.1:8080 max_fails=1 fail_timeout=2s;",
            "\n    ".join(f"server {u.netloc} max_fails=1 fail_timeout=2s;" for u in servers),
        ),
        ("listen 80;", f"listen {HOST}:{http_port};"),
        ("listen 443 ssl;", f"listen {HOST}:{https_port} ssl;"),
        ("/etc/ssl/wallboard/fullchain.pem", str(tls.cert_file)),
        ("/etc/ssl/wallboard/privkey.pem", str(tls.key_file)),
        (SITE_MARK, SITE_MARK + "".join(f"    {line}\n" for line in extra)),
    ):
        text = _replace_once(text, old, new)
    return text


def main_config(directory: Path, site: Path) -> str:
    """A main nginx.conf for an unprivileged foreground run that includes ``site`` in its http block, as
    Debian's includes conf.d/*.conf."""
    temp = directory / "temp"
    # Run as root (these machines), the workers would drop to 'nobody' and could not reach a 0700 tmp dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(f"    {kind}_temp_path {temp / kind};\n" for kind in ("client_body", "proxy", "fastcgi"))
    temp_paths += "".join(f"    {kind}_temp_path {temp / kind};\n" for kind in ("uwsgi", "scgi"))
    return (
        f"{user}daemon off;\n"
        "master_process on;\n"
        "worker_processes 1;\n"
        f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} notice;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        f"    log_format wallboard_test '{LOG_FORMAT}';\n"
        f"    access_log {directory / 'access.log'} wallboard_test;\n"
        f"{temp_paths}"
        f"    include {site};\n"
        "}\n"
    )


@dataclass(frozen=True)
class Proxy:
    """A running nginx: ``origin`` is the public https://127.0.0.1:PORT, its certificate signed by ``ca_file``."""

    https_port: int
    http_port: int
    ca_file: Path
    directory: Path

    @property
    def origin(self) -> str:
        """``https://127.0.0.1:PORT``, without a trailing slash."""
        return f"https://{HOST}:{self.https_port}"

    @property
    def http_origin(self) -> str:
        """The plain-HTTP listener, which only redirects to HTTPS."""
        return f"http://{HOST}:{self.http_port}"

    def ws_url(self, path: str) -> str:
        """``wss://127.0.0.1:PORT`` + ``path``."""
        return f"wss://{HOST}:{self.https_port}{path}"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA only (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def client(self, *, local_address: str = CLIENT_ADDRESS, **kwargs: Any) -> Any:
        """An ``httpx.Client`` on ``origin``, from ``local_address``, verifying the certificate with the test CA."""
        import httpx

        transport = httpx.HTTPTransport(verify=self.ssl_context(), local_address=local_address)
        return httpx.Client(base_url=self.origin, transport=transport, timeout=10, **kwargs)

    def connect_ws(self, path: str, *, local_address: str = CLIENT_ADDRESS, **kwargs: Any) -> Any:
        """``websockets.sync.client.connect`` to ``wss://...path`` from ``local_address``, trusting the test CA
        (``kwargs``: ``additional_headers`` and the like)."""
        from websockets.sync.client import connect

        return connect(
            self.ws_url(path),
            ssl=self.ssl_context(),
            source_address=(local_address, 0),
            proxy=None,  # loopback only, whatever the environment's proxy variables say
            open_timeout=10,
            **kwargs,
        )

    @property
    def access_log(self) -> Path:
        return self.directory / "access.log"

    @property
    def error_log(self) -> Path:
        return self.directory / "error.log"

    @property
    def config_file(self) -> Path:
        """The rendered site file (deploy/nginx/wallboard.conf with the test's values)."""
        return self.directory / "wallboard.conf"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def running(
    upstream: Address | Sequence[Address],
    directory: Path,
    tls: TLSFiles,
    *,
    extra: Sequence[str] = (),
    timeout_s: float = 15,
) -> Iterator[Proxy]:
    """nginx with deploy/nginx/wallboard.conf in front of ``upstream``, from ``directory``; stopped after.

    ``extra``: directives for the site's marked line, e.g. ``["proxy_set_header X-Remote-User $remote_user;"]``.
    """
    binary = nginx_binary()
    directory.mkdir(parents=True, exist_ok=True)
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / "temp" / kind).mkdir(parents=True, exist_ok=True)
    https_port, http_port = free_port(), free_port()
    while http_port == https_port:
        http_port = free_port()
    proxy = Proxy(https_port, http_port, tls.ca_file, directory)
    proxy.config_file.write_text(
        render(
            TEMPLATE.read_text(),
            upstream=upstream,
            https_port=https_port,
            http_port=http_port,
            tls=tls,
            extra=extra,
        )
    )
    main = directory / "nginx.conf"
    main.write_text(main_config(directory, proxy.config_file))
    argv = [binary, "-p", str(directory), "-c", str(main), "-e", str(proxy.error_log)]
    with (directory / "console.log").open("wb") as console:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while not (_listening(https_port) and _listening(http_port)):
            if proc.poll() is not None:
                raise NginxError(
                    f"nginx exited with {proc.returncode} during start-up:\n{_tail(directory / 'console.log')}\n"
                    f"{_tail(proxy.error_log)}"
                )
            if time.monotonic() > deadline:
                raise NginxError(f"nginx did not listen within {timeout_s:g}s:\n{_tail(proxy.error_log)}")
            time.sleep(0.05)
        yield proxy
    finally:
        # SIGTERM: nginx's fast shutdown (SIGQUIT, the graceful one, would wait for the open WebSockets).
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------- what the app receives


def _received(scope: dict[str, Any]) -> bytes:
    client = scope.get("client")
    return json.dumps(
        {
            "client": list(client) if client else None,
            "scheme": scope.get("scheme"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope.get("headers", [])],
        }
    ).encode()


def with_echo(app: Any) -> Any:
    """``app`` plus ``/_test/echo``: GET answers, and a WebSocket there sends once, what the app receives
    (``client`` and ``scheme`` as uvicorn set them from the proxy headers it trusts, and the raw ``headers``
    as ``[name, value]`` pairs); everything else (and the lifespan) goes to ``app``."""

    async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == ECHO_PATH:
            body = _received(scope)
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "websocket" and scope["path"] == ECHO_PATH:
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": _received(scope).decode()})
            await send({"type": "websocket.close", "code": 1000})
            return
        await app(scope, receive, send)

    return echo


def received_headers(answer: dict[str, Any]) -> dict[str, list[str]]:
    """An echo answer's headers by (lower-case) name, each with all its values in order."""
    headers: dict[str, list[str]] = {}
    for name, value in answer["headers"]:
        headers.setdefault(name, []).append(value)
    return headers
