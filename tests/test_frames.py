"""Pre-built WebSocket frames: byte-exact per RFC 6455, and used by the real server."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader
from websockets.sync.client import connect

from tests.conftest import make_settings
from wallboard.sources.memory import ListSource
from wallboard.web.app import create_app
from wallboard.web.frames import FrameWritingProtocol, text_frame


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


@pytest.fixture
def served_board() -> Iterator[tuple[str, object]]:
    """The real app under uvicorn with FrameWritingProtocol (as `wallboard serve` runs it), on a free port."""
    settings = make_settings(web={"push_interval": 0.25})
    event = json.dumps({"type": "call.offered", "event_id": "e1", "ts": int(time.time() * 1000) - 5000,
                        "interaction_id": "c1", "queue": "信用卡"}).encode()
    source = ListSource([[event]])
    app = create_app(settings, source)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, ws=FrameWritingProtocol, ws_per_message_deflate=False,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(10)


def test_pushes_arrive_whole_and_in_order_through_direct_writes(served_board: tuple[str, object]) -> None:
    address, _ = served_board
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(f"ws://{address}/ws?views=snapshot,summary")) for _ in range(5)]
        for ws in clients:
            seqs, types = [], []
            while len(seqs) < 12:
                m = json.loads(ws.recv(timeout=10))
                types.append(m["type"])
                if m["type"] in ("snapshot", "summary", "heartbeat"):
                    seqs.append(m["seq"])
                    if m["type"] == "summary":
                        assert m["data"]["totals"]["channels"]["call"]["waiting"] == 1
            assert types[0] == "hello"
            assert seqs == sorted(seqs)  # never out of order
            assert len([t for t in types if t == "heartbeat"]) >= 5  # later ticks: heartbeats, written direct
    import urllib.request

    metrics = urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
    direct = [line for line in metrics.splitlines() if line.startswith("wallboard_ws_direct_writes_total ")]
    assert direct and float(direct[0].split()[1]) >= 25, direct  # the ticks went through the direct path
