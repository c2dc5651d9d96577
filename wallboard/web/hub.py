"""Fan-out of serialised messages to WebSocket clients (docs/protocol.md "Slow clients").

A message is serialised once per tick and the same ``Outgoing`` object (and so
the same ``str``) is handed to every client that gets it.  Each client holds
at most one unsent message per slot (view): a newer message replaces an unsent
older one, so a stalled browser costs a handful of references, never a queue
that grows, and the tick loop never waits for any client.

A client that asked for deltas (``/ws?...&deltas=1``) gets ``agents`` and
``intraday`` as changes from the previous message of the view
(docs/protocol.md "Deltas").  A delta must meet the exact state it was made
from, so the hub remembers, per client and view, the state its newest
message leads to: a delta goes to a client only when nothing of that view is
waiting to be sent and the client's state is the delta's base; every other
client of the view gets the full message of the same tick instead (built once,
at the first client that needs it).  Conflation therefore never drops a delta:
a delta finding its slot taken replaces the unsent message with the full one.

The writer side (``Hub.serve``) notes when each send starts; once per tick
``Hub.reap`` drops every client whose send has been pending for more than
``slow_client_timeout`` (its endpoint then closes it with 1013, "try again
later", and the page reconnects to a full state).  One pass per tick costs
less than a timer per send, which at 5,000 clients is most of a tick's budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

DATA_VIEWS = ("snapshot", "summary", "selection", "board", "agents", "intraday")
"""The views a client may ask for (``/ws?views=...``); every other slot goes to every client.

``selection`` is one message per selection of queues (``/ws?views=selection&queues=a,b``):
it goes to the clients that asked for that selection only.  ``board`` is the same per named
board (``/ws?views=board&board=NAME``), keyed by ``(NAME,)``."""

KEYED_VIEWS = ("selection", "board")
"""The views whose messages are one per key (a selection of queues, a board), each to its own clients."""

Selection = tuple[str, ...]
"""Queue names in the order a client asked for them, or ``(board name,)``; () for none."""

CLOSE_SLOW_CLIENT = 1013
"""WebSocket close code for a client that could not keep up ("try again later")."""


@dataclass(frozen=True, slots=True, eq=False)
class Outgoing:
    """One message, serialised once and shared by every client that is sent it."""

    slot: str
    """Conflation slot: a data view name, or 'hello', 'broadcast', 'heartbeat'."""
    text: str
    """The JSON text frame (ASCII, so that each socket's UTF-8 encode is a plain copy)."""
    seq: int
    """The server tick this message belongs to."""
    born: float
    """time.perf_counter() at the start of the tick that made it (for the push-latency histogram)."""
    frame: bytes = b""
    """The same text as a ready WebSocket frame, for clients with a direct writer (wallboard/web/frames.py)."""
    selection: Selection = ()
    """For a keyed slot (``selection``, ``board``): the key this message is for (only its clients get it)."""
    state: int = 0
    """For a view sent as deltas: the state of the view a client has once it got this message (0: none)."""
    base: int = 0
    """For a delta: the state it applies to (a client in another state gets ``full()`` instead)."""
    full: Callable[[], Outgoing] | None = None
    """For a delta: the full message of the same view and tick (serialised at the first call); None otherwise."""
    alternatives: tuple[Outgoing, ...] = ()
    """For a delta: deltas of the same view and tick from other states (a view built between ticks for a connect)."""


class Subscriber:
    """One connected client: its views and at most one unsent message per slot."""

    __slots__ = (
        "_closed",
        "_pending",
        "_states",
        "_wake",
        "deltas",
        "direct",
        "dropped",
        "on_drop",
        "selection",
        "sending_since",
        "views",
    )

    def __init__(self, views: frozenset[str], selection: Selection = (), *, deltas: bool = False) -> None:
        self.views = views
        self.selection = selection
        """The key of its keyed view: the queues of its ``selection``, or its ``(board,)`` (() when it has none)."""
        self.deltas = deltas
        """It takes deltas (``agents_delta``, ``intraday_delta``) where the hub can send them."""
        self._states: dict[str, int] = {}
        """Per slot, the ``state`` of the newest message handed to this client (queued or written)."""
        self._pending: dict[str, Outgoing] = {}
        self._wake = asyncio.Event()
        self._closed = False
        self.sending_since: float | None = None
        """time.monotonic() when the send in progress began; None between sends."""
        self.dropped = False
        """True once the hub gave up on this client for being slow."""
        self.on_drop: Callable[[], None] | None = None
        """Called once when the client is dropped (its endpoint stops the writer and closes the socket)."""
        self.direct: Callable[[bytes], bool] | None = None
        """Writes a pre-built frame to the socket now, or returns False (busy, backed up, closing)."""

    def takes(self, msg: Outgoing) -> bool:
        """Can the delta ``msg`` go to this client? Only when it applies to what the client will have."""
        return self.deltas and msg.slot not in self._pending and self._states.get(msg.slot) == msg.base

    def pick(self, msg: Outgoing) -> Outgoing:
        """What of ``msg`` this client gets: the message, a delta from the client's state, or the full message."""
        full = msg.full
        if full is None or self.takes(msg):
            return msg
        for other in msg.alternatives:
            if self.takes(other):
                return other
        return full()

    def offer(self, msg: Outgoing) -> None:
        """Queue ``msg``, replacing an unsent message of the same slot (conflation).

        A delta this client cannot take (``takes``) is queued as what it can take (``pick``): another
        delta of the tick, or its full message.
        """
        msg = self.pick(msg)
        self._states[msg.slot] = msg.state
        pending = self._pending
        # Re-inserting moves the slot to the end, so messages go out in the order they were made.
        pending.pop(msg.slot, None)
        pending[msg.slot] = msg
        wake = self._wake
        if not wake.is_set():
            wake.set()

    @property
    def pending(self) -> int:
        """How many messages wait to be sent (never more than the number of slots)."""
        return len(self._pending)

    def close(self) -> None:
        """End this subscriber's stream: ``get`` returns None from now on."""
        self._closed = True
        self._wake.set()

    async def get(self) -> Outgoing | None:
        """The oldest unsent message, waiting for one; None once closed (the end-of-stream sentinel)."""
        while not self._closed:
            pending = self._pending
            if pending:
                return pending.pop(next(iter(pending)))
            self._wake.clear()
            await self._wake.wait()
        return None

    def __aiter__(self) -> AsyncIterator[Outgoing]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Outgoing]:
        while (msg := await self.get()) is not None:
            yield msg


SentHook = Callable[[Outgoing, float], None]
"""Called after each message a socket took, with the message and the seconds since its tick began."""


class Hub:
    """The set of connected clients, and the fan-out of each tick's messages to them."""

    def __init__(self, *, slow_client_timeout: float, on_sent: SentHook | None = None) -> None:
        self.slow_client_timeout = slow_client_timeout
        self._on_sent = on_sent
        self._all: set[Subscriber] = set()
        self._by_view: dict[str, set[Subscriber]] = {view: set() for view in DATA_VIEWS}
        self._by_selection: dict[tuple[str, Selection], set[Subscriber]] = {}
        """The clients of each keyed view's key: ``("selection", queues)``, ``("board", (name,))``."""
        self.dropped = 0
        """Clients dropped for being slow, since start."""
        self.direct_writes = 0
        """Messages written straight to an idle socket (the rest went through the clients' writer loops)."""

    def __len__(self) -> int:
        return len(self._all)

    def wants(self, view: str) -> bool:
        """Does any client subscribe to ``view``? (The tick skips building views nobody watches.)"""
        return bool(self._by_view.get(view))

    def count(self, view: str) -> int:
        """Clients subscribed to ``view``."""
        return len(self._by_view.get(view, ()))

    def selections(self, view: str = "selection") -> list[Selection]:
        """Every key of a keyed view some client subscribes to (the tick builds one message for each)."""
        return [key for keyed, key in self._by_selection if keyed == view]

    @asynccontextmanager
    async def subscribe(
        self,
        views: Iterable[str],
        initial: Iterable[Outgoing] = (),
        selection: Selection = (),
        *,
        deltas: bool = False,
    ) -> AsyncIterator[Subscriber]:
        """Register a client for ``views`` (data views) with ``initial`` messages queued first; always unregister.

        A client of the ``selection`` view names its ``selection`` of queues; of the ``board`` view, ``(board,)``.
        One with ``deltas`` takes the deltas of the views that have them.
        """
        wanted = frozenset(views)
        unknown = wanted.difference(DATA_VIEWS)
        if unknown:
            raise ValueError(f"unknown views: {', '.join(sorted(unknown))}")
        keyed = wanted.intersection(KEYED_VIEWS)
        if len(keyed) > 1:
            raise ValueError("a client subscribes to one keyed view at most (selection or board)")
        if bool(keyed) != bool(selection):
            raise ValueError("the selection and board views go with their key (queues, board), and only they")
        slot = (next(iter(keyed)), selection) if keyed else None
        sub = Subscriber(wanted, selection, deltas=deltas)
        # Queue the initial messages before the subscriber is visible to publish(), with no await
        # in between, so that hello comes first and nothing published meanwhile is missed.
        for msg in initial:
            sub.offer(msg)
        self._all.add(sub)
        for view in wanted:
            self._by_view[view].add(sub)
        if slot is not None:
            self._by_selection.setdefault(slot, set()).add(sub)
        try:
            yield sub
        finally:
            sub.close()
            self._all.discard(sub)
            for view in wanted:
                self._by_view[view].discard(sub)
            if slot is not None:
                same = self._by_selection[slot]
                same.discard(sub)
                if not same:
                    del self._by_selection[slot]

    def publish(self, msg: Outgoing) -> int:
        """Hand ``msg`` to every client that gets its slot; return how many.

        An idle client (nothing queued, no send under way) with a direct writer
        gets the pre-built frame at once; every other client, or one whose
        writer refuses, has it queued in its slot.  Either way the order of a
        client's messages is kept: a direct write only ever follows messages
        that have already left.  A delta goes as the full message to the
        clients that cannot take it (``Subscriber.takes``).
        """
        if msg.slot in KEYED_VIEWS:
            targets = self._by_selection.get((msg.slot, msg.selection), set())
        else:
            targets = self._by_view.get(msg.slot, self._all)
        if not msg.frame:
            for sub in targets:
                sub.offer(msg)
            return len(targets)
        # The moments of the direct writes are noted in the loop and reported after it, so the
        # bookkeeping (a histogram observation each) delays no client's message.
        perf = time.perf_counter
        written: list[tuple[Outgoing, float]] = []
        note = written.append
        # Only a view sent as deltas needs each client's state (what it has) and a choice per client; the
        # others (the TVs' views) keep the plain loop: at 5,000 clients every step of it counts.
        tracked = msg.full is not None or msg.state != 0
        for sub in targets:
            out = sub.pick(msg) if tracked else msg
            write = sub.direct
            if (
                write is not None
                and not sub._pending
                and sub.sending_since is None
                and not sub._closed
                and write(out.frame)
            ):
                if tracked:
                    sub._states[out.slot] = out.state
                note((out, perf()))
            else:
                sub.offer(out)
        self.direct_writes += len(written)
        on_sent = self._on_sent
        if on_sent is not None:
            for out, at in written:
                on_sent(out, at - out.born)
        return len(targets)

    async def serve(self, sub: Subscriber, send: Callable[[str], Awaitable[None]]) -> None:
        """The writer loop of one client: send each message as it comes, noting when each send began.

        Returns when the subscriber is closed (server shutdown, or dropped by
        ``reap``); a failing ``send`` (the socket went away) propagates.
        """
        on_sent = self._on_sent
        perf = time.perf_counter
        clock = time.monotonic
        while (msg := await sub.get()) is not None:
            sub.sending_since = clock()
            await send(msg.text)
            sub.sending_since = None
            if on_sent is not None:
                on_sent(msg, perf() - msg.born)

    def reap(self, now: float | None = None) -> int:
        """Drop every client whose current send began more than slow_client_timeout ago; return how many.

        Called once per tick.  A dropped subscriber is closed and its ``on_drop``
        called; it leaves the hub when its ``subscribe`` block ends.
        """
        now = time.monotonic() if now is None else now
        limit = self.slow_client_timeout
        dropped = 0
        for sub in self._all:
            since = sub.sending_since
            if since is not None and now - since > limit and not sub.dropped:
                sub.dropped = True
                sub.close()
                if sub.on_drop is not None:
                    sub.on_drop()
                dropped += 1
        self.dropped += dropped
        return dropped

    def close(self) -> None:
        """Close every subscriber (server shutdown): their writer loops end."""
        for sub in list(self._all):
            sub.close()
