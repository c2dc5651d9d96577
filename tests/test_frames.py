"""Pre-built WebSocket frames: byte-exact per RFC 6455, used by the real server, and a clean fallback without them."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader
from websockets.sync.client import connect

from tests.conftest import make_settings
from tests.servers import in_thread
from wallboard.sources.memory import ListSource
from wallboard.web import frames
from wallboard.web.app import create_app
from wallboard.web.frames import FastPath, frame_writing_protocol, text_frame, ws_protocol


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 100_000])
def test_text_frames_parse_back_with_an_independent_implementation(size: int) -> None:
    text = "x" * size
    reader = StreamReader()
    reader.feed_data(text_frame(text))
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    assert frame.opcode is Opcode.TEXT and frame.fin and frame.data == text.encode()
    assert len(text_frame(text)) == size + (2 if size < 126 else 4 if size < 65536 else 10)


@contextlib.contextmanager
def serve_board(ws: Any) -> Iterator[str]:
    """The real app under uvicorn with the WebSocket protocol ``ws`` (as `wallboard serve` runs it), on a free port."""
    settings = make_settings(web={"push_interval": 0.25})
    event = json.dumps(
        {
            "type": "call.offered",
            "event_id": "e1",
            "ts": int(time.time() * 1000) - 5000,
            "interaction_id": "c1",
            "queue": "信用卡",
        }
    ).encode()
    source = ListSource([[event]])
    with in_thread(create_app(settings, source), ws=ws) as address:
        yield address.netloc


@pytest.fixture
def served_board() -> Iterator[str]:
    """The board with the frame-writing protocol that `wallboard serve` passes uvicorn."""
    with serve_board(ws_protocol()) as address:
        yield address


def receive_ticks(address: str, clients: int = 5) -> None:
    """Each of ``clients`` boards gets hello, the full state, then ticks (heartbeats) whole and in order."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connect(f"ws://{address}/ws?views=snapshot,summary")) for _ in range(clients)]
        for ws in sockets:
            seqs: list[int] = []
            types: list[str] = []
            while len(seqs) < 12:
                m = json.loads(ws.recv(timeout=10))
                types.append(m["type"])
                if m["type"] in ("snapshot", "summary", "heartbeat"):
                    seqs.append(m["seq"])
                    if m["type"] == "summary":
                        assert m["data"]["totals"]["channels"]["call"]["waiting"] == 1
            assert types[0] == "hello"
            assert seqs == sorted(seqs)  # never out of order
            assert len([t for t in types if t == "heartbeat"]) >= 5  # later ticks: heartbeats


def direct_writes(address: str) -> float:
    """wallboard_ws_direct_writes_total, read from /metrics."""
    metrics = urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
    (line,) = [line for line in metrics.splitlines() if line.startswith("wallboard_ws_direct_writes_total ")]
    return float(line.split()[1])


def frame_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == frames.__name__ and r.levelno == logging.WARNING and "frame writes are off" in r.getMessage()
    ]


def test_pushes_arrive_whole_and_in_order_through_direct_writes(
    served_board: str, caplog: pytest.LogCaptureFixture
) -> None:
    receive_ticks(served_board)
    assert direct_writes(served_board) >= 25  # the ticks went through the direct path
    assert frame_warnings(caplog) == []


# ------------------------------------------------------------- without the fast path


@pytest.fixture
def fresh_protocol() -> Iterator[None]:
    """frame_writing_protocol() looks for uvicorn's class again in the test, and again after it."""
    frame_writing_protocol.cache_clear()
    yield
    frame_writing_protocol.cache_clear()


@pytest.mark.parametrize("missing", ["module", "handle_connect"])
def test_without_uvicorns_class_the_board_runs_on_uvicorns_own_protocol(
    missing: str, fresh_protocol: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with monkeypatch.context() as patch:
        if missing == "module":  # as on uvicorn < 0.35: the import fails
            patch.setitem(sys.modules, frames.UVICORN_PROTOCOL, None)
            with pytest.raises(ImportError):
                __import__(frames.UVICORN_PROTOCOL)
        else:  # the class is there but no longer has the hook the writer overrides
            from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

            patch.delattr(WebSocketsSansIOProtocol, "handle_connect")
        assert frame_writing_protocol() is None
        assert ws_protocol() == "auto"
        assert ws_protocol() == "auto"  # asked twice, warned once
    assert len(frame_warnings(caplog)) == 1, caplog.records
    # The board then runs on the protocol uvicorn picks itself (here the real class again: the test's
    # patch is gone, as it would not be there on an older uvicorn either), without the extension.
    with serve_board("auto") as address:
        receive_ticks(address)
        assert direct_writes(address) == 0  # every message took the ordinary path


class _WithoutAttribute:
    """A stand-in for an object of a later release that renamed ``missing``: everything else is the real one's."""

    def __init__(self, real: object, missing: str) -> None:
        self._real = real
        self._missing = missing

    def __getattr__(self, name: str) -> Any:
        if name == self._missing:
            raise AttributeError(name)
        return getattr(self._real, name)


def _shape_changed(where: str) -> Any:
    """The frame-writing protocol as a later uvicorn (or websockets) would break it, with its own fast-path switch."""
    # Any: the stand-ins below change what the real class's attributes are, which its types forbid.
    base: Any = frame_writing_protocol()
    assert base is not None

    if where == "write_frame":

        class ConnWithoutExtensions(base):  # type: ignore[misc]  # websockets' ServerProtocol.extensions renamed
            fast_path = FastPath()

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.conn: Any = _WithoutAttribute(self.conn, "extensions")

        return ConnWithoutExtensions

    class ScopeWithoutExtensions(base):  # type: ignore[misc]  # the ASGI scope no longer carries "extensions"
        fast_path = FastPath()

        @property
        def scope(self) -> dict[str, Any]:
            return self._scope

        @scope.setter
        def scope(self, value: dict[str, Any]) -> None:
            self._scope = {k: v for k, v in value.items() if k != "extensions"}

    return ScopeWithoutExtensions


@pytest.mark.parametrize("where", ["write_frame", "handle_connect"])
def test_a_protocol_of_another_shape_falls_back_to_the_ordinary_path(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    protocol = _shape_changed(where)
    with serve_board(protocol) as address:
        receive_ticks(address)  # every client still gets every tick, in order
        assert direct_writes(address) == 0
    assert not protocol.fast_path.on
    (warning,) = frame_warnings(caplog)  # one warning, however many clients and ticks
    assert where in warning
    # The switch is the stand-in's own: the real protocol's fast path is untouched.
    real = frame_writing_protocol()
    assert real is not None and real.fast_path.on  # type: ignore[attr-defined]
