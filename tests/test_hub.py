"""The fan-out hub: shared serialisation, conflation, slow-client drop, subscribe/unsubscribe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from wallboard.web.hub import DATA_VIEWS, Hub, Outgoing, Subscriber


def msg(slot: str, seq: int, born: float = 1.0) -> Outgoing:
    return Outgoing(slot, f'{{"type":"{slot}","seq":{seq}}}', seq, born)


def drain(sub: Subscriber) -> list[Outgoing]:
    """Everything pending, in send order, without waiting."""
    out = []
    while sub.pending:
        out.append(sub._pending.pop(next(iter(sub._pending))))
    return out


@pytest.mark.asyncio
async def test_subscribe_registers_and_always_unregisters() -> None:
    hub = Hub(slow_client_timeout=1)
    assert len(hub) == 0 and not hub.wants("agents")
    with pytest.raises(RuntimeError, match="boom"):
        async with hub.subscribe(["snapshot", "agents"]) as sub:
            assert len(hub) == 1
            assert hub.wants("agents") and hub.count("agents") == 1 and not hub.wants("intraday")
            assert sub.views == frozenset({"snapshot", "agents"})
            raise RuntimeError("boom")
    assert len(hub) == 0 and not hub.wants("agents") and hub.count("snapshot") == 0
    # The subscriber is closed on the way out: its stream ends.
    assert await sub.get() is None
    assert hub.publish(msg("heartbeat", 1)) == 0


@pytest.mark.asyncio
async def test_unknown_views_are_refused() -> None:
    hub = Hub(slow_client_timeout=1)
    with pytest.raises(ValueError, match="unknown views: bogus"):
        async with hub.subscribe(["snapshot", "bogus"]):
            pass  # pragma: no cover
    assert len(hub) == 0
    assert hub.count("bogus") == 0 and not hub.wants("bogus")


@pytest.mark.asyncio
async def test_data_views_go_to_their_subscribers_control_messages_to_all() -> None:
    hub = Hub(slow_client_timeout=1)
    async with hub.subscribe(["snapshot"]) as a, hub.subscribe(["snapshot", "agents", "intraday"]) as b:
        assert hub.publish(msg("snapshot", 1)) == 2
        assert hub.publish(msg("agents", 1)) == 1
        assert hub.publish(msg("intraday", 1)) == 1
        assert hub.publish(msg("heartbeat", 2)) == 2
        assert hub.publish(msg("broadcast", 2)) == 2
        assert [m.slot for m in drain(a)] == ["snapshot", "heartbeat", "broadcast"]
        assert [m.slot for m in drain(b)] == ["snapshot", "agents", "intraday", "heartbeat", "broadcast"]


@pytest.mark.asyncio
async def test_one_serialisation_is_shared_by_every_client() -> None:
    hub = Hub(slow_client_timeout=1)
    async with hub.subscribe(["snapshot"]) as a, hub.subscribe(["snapshot"]) as b:
        m = msg("snapshot", 7)
        hub.publish(m)
        got_a, got_b = await a.get(), await b.get()
        assert got_a is m and got_b is m
        assert got_a is not None and got_b is not None and got_a.text is got_b.text


@pytest.mark.asyncio
async def test_conflation_keeps_only_the_newest_unsent_message_per_slot() -> None:
    hub = Hub(slow_client_timeout=1)
    async with hub.subscribe(["snapshot", "agents"]) as sub:
        for seq in range(1, 101):  # a stalled client: 100 ticks, nothing taken
            hub.publish(msg("snapshot", seq))
            hub.publish(msg("agents", seq))
            hub.publish(msg("heartbeat", seq))
        assert sub.pending == 3  # bounded by the slots, not by the ticks
        assert [(m.slot, m.seq) for m in drain(sub)] == [("snapshot", 100), ("agents", 100), ("heartbeat", 100)]


@pytest.mark.asyncio
async def test_messages_leave_in_the_order_of_their_newest_version() -> None:
    hub = Hub(slow_client_timeout=1)
    async with hub.subscribe(["snapshot"]) as sub:
        hub.publish(msg("snapshot", 6))
        hub.publish(msg("heartbeat", 7))
        hub.publish(msg("snapshot", 8))  # replaces 6 and goes behind the heartbeat: seq never goes back
        assert [m.seq for m in drain(sub)] == [7, 8]


@pytest.mark.asyncio
async def test_initial_messages_come_first() -> None:
    hub = Hub(slow_client_timeout=1)
    hello, snap = msg("hello", 3), msg("snapshot", 3)
    async with hub.subscribe(["snapshot"], [hello, snap]) as sub:
        hub.publish(msg("heartbeat", 4))
        assert [m.slot for m in drain(sub)] == ["hello", "snapshot", "heartbeat"]


@pytest.mark.asyncio
async def test_get_waits_for_a_message_and_close_ends_the_stream() -> None:
    hub = Hub(slow_client_timeout=1)
    async with hub.subscribe(["snapshot"]) as sub:
        waiter = asyncio.create_task(sub.get())
        await asyncio.sleep(0)
        assert not waiter.done()
        m = msg("snapshot", 1)
        hub.publish(m)
        assert await waiter is m
        got: list[Outgoing] = []

        async def consume() -> None:
            async for item in sub:
                got.append(item)

        consumer = asyncio.create_task(consume())
        hub.publish(msg("snapshot", 2))
        await asyncio.sleep(0)
        hub.close()  # server shutdown: the None sentinel ends the iteration
        await asyncio.wait_for(consumer, 1)
        assert [g.seq for g in got] == [2]
        assert await sub.get() is None


@pytest.mark.asyncio
async def test_serve_sends_in_order_and_reports_latency() -> None:
    seen: list[tuple[int, float]] = []
    hub = Hub(slow_client_timeout=1, on_sent=lambda m, s: seen.append((m.seq, s)))
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    async with hub.subscribe(["snapshot"]) as sub:
        writer = asyncio.create_task(hub.serve(sub, send))
        hub.publish(msg("snapshot", 1, born=0.0))
        hub.publish(msg("heartbeat", 2, born=0.0))
        await asyncio.sleep(0.01)
        sub.close()
        await asyncio.wait_for(writer, 1)
    assert sent == ['{"type":"snapshot","seq":1}', '{"type":"heartbeat","seq":2}']
    assert [s for s, _ in seen] == [1, 2] and all(lat >= 0 for _, lat in seen)


@pytest.mark.asyncio
async def test_serve_without_a_latency_hook() -> None:
    hub = Hub(slow_client_timeout=1)
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    async with hub.subscribe(["snapshot"], [msg("hello", 1)]) as sub:
        writer = asyncio.create_task(hub.serve(sub, send))
        await asyncio.sleep(0)
        hub.close()
        await asyncio.wait_for(writer, 1)
    assert sent == ['{"type":"hello","seq":1}']


@pytest.mark.asyncio
async def test_a_client_that_takes_nothing_for_the_timeout_is_dropped() -> None:
    hub = Hub(slow_client_timeout=0.05)
    stuck = asyncio.Event()
    drops: list[str] = []

    async def send(text: str) -> None:
        await stuck.wait()  # the socket's buffer is full and the browser reads nothing

    async with hub.subscribe(["snapshot"]) as sub, hub.subscribe(["snapshot"]) as idle:
        sub.on_drop = lambda: drops.append("slow")
        writer = asyncio.create_task(hub.serve(sub, send))
        for seq in range(1, 50):  # the ticks keep coming meanwhile: conflated, and reaped once a tick
            hub.publish(msg("snapshot", seq))
            hub.reap()
            await asyncio.sleep(0.002)
            if sub.dropped:
                break
        assert sub.dropped and drops == ["slow"]
        assert not idle.dropped  # never sent anything, so never slow
        assert sub.sending_since is not None
        assert hub.reap(sub.sending_since + 3600) == 0  # dropped once only
        writer.cancel()  # what the endpoint's on_drop does
        with pytest.raises(asyncio.CancelledError):
            await writer
        assert await sub.get() is None
    assert hub.dropped == 1
    assert len(hub) == 0


@pytest.mark.asyncio
async def test_reap_without_a_drop_hook_closes_the_subscriber() -> None:
    hub = Hub(slow_client_timeout=1)
    async with hub.subscribe(["snapshot"]) as sub:
        sub.sending_since = 100.0
        assert hub.reap(100.5) == 0  # within the timeout
        assert hub.reap(101.5) == 1
        assert sub.dropped and await sub.get() is None


@pytest.mark.asyncio
async def test_a_slow_but_moving_client_is_kept_and_gets_the_newest_state() -> None:
    hub = Hub(slow_client_timeout=0.2)
    sent: list[int] = []

    async def send(text: str) -> None:
        await asyncio.sleep(0.02)  # slower than the ticks, faster than the timeout
        sent.append(int(text.split('"seq":')[1].rstrip("}")))

    async with hub.subscribe(["snapshot"]) as sub:
        writer = asyncio.create_task(hub.serve(sub, send))
        for seq in range(1, 31):
            hub.publish(msg("snapshot", seq))
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
        hub.close()
        await asyncio.wait_for(writer, 2)
    assert hub.dropped == 0
    assert sent[-1] == 30  # the newest state always arrives
    assert len(sent) < 30  # older ones were conflated away
    assert sent == sorted(sent)


@pytest.mark.asyncio
async def test_a_failing_socket_ends_the_writer_with_its_error() -> None:
    hub = Hub(slow_client_timeout=1)

    async def send(text: str) -> None:
        raise ConnectionResetError("gone")

    async with hub.subscribe(["snapshot"], [msg("hello", 1)]) as sub:
        with pytest.raises(ConnectionResetError):
            await hub.serve(sub, send)
    assert hub.dropped == 0


@pytest.mark.asyncio
async def test_a_selection_goes_only_to_the_clients_of_that_selection() -> None:
    hub = Hub(slow_client_timeout=1)
    ab, ba = ("a", "b"), ("b", "a")
    with pytest.raises(ValueError, match="selection"):
        async with hub.subscribe(["selection"]):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="selection"):
        async with hub.subscribe(["summary"], selection=ab):
            pass  # pragma: no cover
    async with (
        hub.subscribe(["selection"], selection=ab) as one,
        hub.subscribe(["selection"], selection=ab) as two,
        hub.subscribe(["selection"], selection=ba) as other,
        hub.subscribe(["summary"]) as plain,
    ):
        assert sorted(hub.selections()) == [ab, ba] and hub.count("selection") == 3
        sel = Outgoing("selection", '{"type":"selection"}', 1, 1.0, selection=ab)
        assert hub.publish(sel) == 2
        assert hub.publish(Outgoing("selection", "{}", 1, 1.0, selection=("c",))) == 0
        assert hub.publish(msg("heartbeat", 1)) == 4
        assert [m.slot for m in drain(one)] == [m.slot for m in drain(two)] == ["selection", "heartbeat"]
        assert [m.slot for m in drain(other)] == [m.slot for m in drain(plain)] == ["heartbeat"]
        assert one.selection == ab and plain.selection == ()
    assert hub.selections() == [] and hub.count("selection") == 0


@pytest.mark.asyncio
async def test_a_board_goes_only_to_the_clients_of_that_board_and_not_to_a_selection_of_the_same_key() -> None:
    hub = Hub(slow_client_timeout=1)
    with pytest.raises(ValueError, match="one keyed view"):
        async with hub.subscribe(["selection", "board"], selection=("a",)):
            pass
    with pytest.raises(ValueError, match="key"):
        async with hub.subscribe(["board"]):
            pass
    async with (
        hub.subscribe(["board"], selection=("a",)) as board_a,
        hub.subscribe(["board"], selection=("b",)) as board_b,
        hub.subscribe(["selection"], selection=("a",)) as queue_a,
    ):
        assert hub.selections("board") == [("a",), ("b",)] and hub.selections() == [("a",)]
        assert hub.publish(Outgoing("board", '{"type":"board"}', 1, 1.0, selection=("a",))) == 1
        assert [m.slot for m in drain(board_a)] == ["board"]
        assert drain(board_b) == [] and drain(queue_a) == []
    assert hub.selections("board") == []


def test_the_data_views() -> None:
    assert DATA_VIEWS == ("snapshot", "summary", "selection", "board", "agents", "intraday")


# ------------------------------------------------------------- direct frames


def framed(slot: str, seq: int, born: float = 1.0) -> Outgoing:
    m = msg(slot, seq, born)
    return Outgoing(m.slot, m.text, m.seq, m.born, b"FRAME:" + m.text.encode())


def writer_into(written: list[bytes]) -> Callable[[bytes], bool]:
    """A direct writer that always manages to write, into ``written``."""

    def write(frame: bytes) -> bool:
        written.append(frame)
        return True

    return write


@pytest.mark.asyncio
async def test_an_idle_client_with_a_direct_writer_gets_the_frame_at_once() -> None:
    seen: list[int] = []
    hub = Hub(slow_client_timeout=1, on_sent=lambda m, s: seen.append(m.seq))
    written: list[bytes] = []
    async with hub.subscribe(["snapshot"]) as sub:
        sub.direct = writer_into(written)
        hub.publish(framed("snapshot", 1))
        assert written == [b'FRAME:{"type":"snapshot","seq":1}'] and sub.pending == 0
        assert hub.direct_writes == 1 and seen == [1]


@pytest.mark.asyncio
async def test_direct_writes_never_overtake_queued_messages() -> None:
    """A client with messages still queued (its initial state, say) gets the new one queued behind them."""
    hub = Hub(slow_client_timeout=1)
    written: list[bytes] = []
    async with hub.subscribe(["snapshot"], [msg("hello", 0)]) as sub:
        sub.direct = writer_into(written)
        hub.publish(framed("snapshot", 1))
        assert written == [] and [m.seq for m in drain(sub)] == [0, 1]
        sub.sending_since = 123.0  # a send under way: queue, don't write past it
        hub.publish(framed("snapshot", 2))
        assert written == [] and [m.seq for m in drain(sub)] == [2]
        sub.sending_since = None
        hub.publish(framed("snapshot", 3))
        assert len(written) == 1 and sub.pending == 0
    assert hub.direct_writes == 1


@pytest.mark.asyncio
async def test_a_refused_direct_write_falls_back_to_the_conflating_slot() -> None:
    """A backed-up socket refuses: the message waits in the slot, newer ones replace it (never a queue)."""
    hub = Hub(slow_client_timeout=1)
    async with hub.subscribe(["snapshot"]) as sub:
        sub.direct = lambda frame: False
        hub.publish(framed("snapshot", 1))
        hub.publish(framed("snapshot", 2))
        assert [m.seq for m in drain(sub)] == [2] and hub.direct_writes == 0
        sub.close()
        hub.publish(framed("snapshot", 3))  # a closed client is never written to
        assert hub.direct_writes == 0


@pytest.mark.asyncio
async def test_messages_without_a_frame_always_use_the_writer() -> None:
    hub = Hub(slow_client_timeout=1)
    async with hub.subscribe(["snapshot"]) as sub:
        sub.direct = lambda frame: pytest.fail("no frame, no direct write")
        hub.publish(msg("snapshot", 1))
        assert [m.seq for m in drain(sub)] == [1]


# ------------------------------------------------------------------- deltas


class Tick:
    """The messages of the agents view at one tick: a delta from ``base``, and its full message built on demand."""

    def __init__(self, seq: int, base: int, *, frames: bool = False) -> None:
        self.seq = seq
        self.builds = 0
        self.frames = frames
        text = f'{{"type":"agents_delta","seq":{seq}}}'
        frame = b"FRAME:" + text.encode() if frames else b""
        self.delta = Outgoing("agents", text, seq, 1.0, frame, (), seq, base, self.full)
        self._full: Outgoing | None = None

    def full(self) -> Outgoing:
        if self._full is None:
            self.builds += 1
            text = f'{{"type":"agents","seq":{self.seq}}}'
            frame = b"FRAME:" + text.encode() if self.frames else b""
            self._full = Outgoing("agents", text, self.seq, 1.0, frame, (), self.seq)
        return self._full


def kinds(msgs: list[Outgoing]) -> list[str]:
    return [m.text.split('"')[3] + f"@{m.seq}" for m in msgs]


@pytest.mark.asyncio
async def test_a_delta_goes_only_to_a_client_in_its_base_state() -> None:
    hub = Hub(slow_client_timeout=1)
    first = Tick(1, 0)
    async with (
        hub.subscribe(["agents"], [first.full()], deltas=True) as taker,
        hub.subscribe(["agents"], [first.full()]) as old_client,
        hub.subscribe(["agents"], [Tick(1, 0).full()], deltas=True) as other_state,
    ):
        other_state._states["agents"] = 99  # it got a view built between ticks (connect, resync): another state
        for sub in (taker, old_client, other_state):
            drain(sub)
        second = Tick(2, 1)
        assert hub.publish(second.delta) == 3
        assert kinds(drain(taker)) == ["agents_delta@2"]
        assert kinds(drain(old_client)) == ["agents@2"]  # asked for no deltas: full messages, as in protocol 2
        assert kinds(drain(other_state)) == ["agents@2"]
        assert second.builds == 1  # one full message for both
        third = Tick(3, 2)
        hub.publish(third.delta)
        assert kinds(drain(taker)) == kinds(drain(other_state)) == ["agents_delta@3"]  # back on the deltas
        assert kinds(drain(old_client)) == ["agents@3"]


@pytest.mark.asyncio
async def test_a_full_message_nobody_needs_is_never_built() -> None:
    hub = Hub(slow_client_timeout=1)
    async with hub.subscribe(["agents"], [Tick(1, 0).full()], deltas=True) as sub:
        drain(sub)
        second = Tick(2, 1)
        hub.publish(second.delta)
        assert kinds(drain(sub)) == ["agents_delta@2"] and second.builds == 0


@pytest.mark.asyncio
async def test_a_delta_never_replaces_an_unsent_message_it_would_need() -> None:
    """Conflation with deltas: a delta finding its slot taken queues the full message of its tick instead."""
    hub = Hub(slow_client_timeout=1)
    async with hub.subscribe(["agents"], [Tick(1, 0).full()], deltas=True) as sub:
        drain(sub)
        hub.publish(Tick(2, 1).delta)  # queued, not sent: the client is slow
        hub.publish(Tick(3, 2).delta)
        hub.publish(Tick(4, 3).delta)
        assert kinds(drain(sub)) == ["agents@4"]  # the newest state, whole
        hub.publish(Tick(5, 4).delta)
        assert kinds(drain(sub)) == ["agents_delta@5"]


@pytest.mark.asyncio
async def test_deltas_through_direct_writes() -> None:
    hub = Hub(slow_client_timeout=1)
    written: list[bytes] = []
    async with hub.subscribe(["agents"], deltas=True) as sub:
        sub.direct = writer_into(written)
        hub.publish(Tick(1, 0, frames=True).delta)  # no state yet: the full message, written at once
        hub.publish(Tick(2, 1, frames=True).delta)
        assert [f.split(b'"')[3] for f in written] == [b"agents", b"agents_delta"]
        sub.direct = lambda frame: False  # backed up: the slot
        hub.publish(Tick(3, 2, frames=True).delta)
        hub.publish(Tick(4, 3, frames=True).delta)
        assert kinds(drain(sub)) == ["agents@4"]


@pytest.mark.asyncio
async def test_a_client_on_a_view_built_between_ticks_gets_the_delta_from_it() -> None:
    """The tick's delta has alternatives from other bases: each client gets the one from its own state."""
    import dataclasses

    hub = Hub(slow_client_timeout=1)
    async with (
        hub.subscribe(["agents"], [Tick(1, 0).full()], deltas=True) as on_tick,
        hub.subscribe(["agents"], [Tick(7, 0).full()], deltas=True) as connected_later,
        hub.subscribe(["agents"], [Tick(8, 0).full()], deltas=True) as elsewhere,
    ):
        for sub in (on_tick, connected_later, elsewhere):
            drain(sub)
        second = Tick(2, 1)
        from_between = Tick(2, 7).delta
        msg = dataclasses.replace(second.delta, alternatives=(from_between,))
        hub.publish(msg)
        assert drain(on_tick) == [msg]
        assert drain(connected_later) == [from_between]
        assert kinds(drain(elsewhere)) == ["agents@2"] and second.builds == 1
