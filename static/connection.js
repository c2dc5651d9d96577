/* wallboard: the WebSocket to /ws (docs/protocol.md), with everything a board needs to never show
 * stale data as fresh: reconnect with backoff, seq gaps -> resync, staleness state. */
(function () {
  "use strict";
  var WB = window.WB;

  /**
   * The WebSocket to /ws, with everything a board needs to never show stale data as fresh.
   *
   * opts: views (list), queues (list: the selection of the `selection` view), board (the `board` view's
   *   board name), deltas (true: the agents and intraday views as deltas after their first full message,
   *   docs/protocol.md), pushInterval (s),
 * staleAfter (s), onMessage(msg), onState(state).
   *
   * State (recomputed every 250 ms and on every message):
   *   "waiting" no numbers yet: no data message, or the server says source.state "waiting"
   *             (not caught up, or no event ever read); the page shows dashes, not zeros.
   *   "stale"   the socket is not open; the socket was reopened but no full state has arrived
   *             on it yet; the server says source.stale or not ready; or no message for
   *             staleAfter seconds.
   *   "ageing"  no message for 2 x pushInterval (two missed pushes).
   *   "quiet"   the server says source.state "quiet": current, but no event for a while.
   *   "fresh"   otherwise.
   * A gap in `seq` (or a heartbeat naming a data message we never got) sends {"type":"resync"}.
   * Reconnects with exponential backoff from 0.5 s up to 15 s, with jitter.
   */
  WB.Connection = function (opts) {
    this.views = opts.views;
    this.queues = opts.queues || [];
    this.board = opts.board || "";
    this.deltas = opts.deltas === true;
    this.pushInterval = opts.pushInterval;
    this.staleAfter = opts.staleAfter;
    this.onMessage = opts.onMessage || function () {};
    this.onState = opts.onState || function () {};
    this.ws = null;
    this.connId = 0;
    this.open = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.lastMsgAt = null;        // performance.now() of the last message of any type
    this.heardAt = null;          // ... or of the current socket's opening, whichever is later
    this.openedAt = null;         // performance.now() when the current socket opened
    this.lastDataAt = null;       // performance.now() of the last data message
    this.lastServerMs = null;     // server_time of the last message (ms since epoch)
    this.lastServerAt = null;     // performance.now() when it arrived
    this.lastGoodServerMs = null; // server_time of the last message while the source was fine
    this.dataConnId = -1;         // the connection the newest snapshot came on
    this.lastSeq = null;
    this.maxDataSeq = null;
    this.lastResyncAt = -1e9;
    this.resyncPending = false;
    this.lastPingAt = -1e9;
    this.source = null;
    this.state = { state: "waiting", reason: "never" };
  };

  WB.Connection.prototype.url = function () {
    // Relative to the page, so that a board behind a path prefix (reverse proxy) still works.
    var u = WB.appUrl("ws");
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.search = "?views=" + this.views.join(",") +
      (this.queues.length ? "&queues=" + encodeURIComponent(this.queues.join(",")) : "") +
      (this.board ? "&board=" + encodeURIComponent(this.board) : "") +
      (this.deltas ? "&deltas=1" : "");
    return u.toString();
  };

  WB.Connection.prototype.start = function () {
    var self = this;
    this.connect();
    window.setInterval(function () { self.evaluate(); }, 250);
    // Waiting out a backoff when the tab comes back or the network returns: try at once.
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && self.retryTimer) self.reconnectNow();
    });
    window.addEventListener("online", function () { if (self.retryTimer) self.reconnectNow(); });
  };

  WB.Connection.prototype.reconnectNow = function () {
    if (this.retryTimer) { window.clearTimeout(this.retryTimer); this.retryTimer = null; }
    this.attempt = 0;
    this.connect();
  };

  WB.Connection.prototype.connect = function () {
    var self = this;
    if (this.ws) {
      var old = this.ws;
      this.ws = null;
      old.onopen = old.onmessage = old.onclose = old.onerror = null;
      try { old.close(); } catch (e) { /* already closed */ }
    }
    this.open = false;
    this.connId += 1;
    var myId = this.connId;
    var ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = function () {
      if (myId !== self.connId) return;
      self.open = true;
      self.openedAt = self.heardAt = performance.now();
      self.lastSeq = null;
      self.maxDataSeq = null;
      self.resyncPending = false;
      self.evaluate();
    };
    ws.onmessage = function (ev) {
      if (myId !== self.connId) return;
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg || typeof msg !== "object") return;
      self.receive(msg);
    };
    var opened = false;
    ws.addEventListener("open", function () { opened = true; });
    ws.onclose = function (ev) {
      if (myId !== self.connId) return;
      // A refused handshake (never opened) or an ended session (4401): maybe we are signed out.
      if (!opened || ev.code === 4401) WB.checkSession();
      self.open = false;
      self.ws = null;
      self.evaluate();
      self.scheduleReconnect();
    };
    ws.onerror = function () { /* onclose follows */ };
  };

  var sessionCheckedAt = -1e9;
  /** Signed out (session expired, token revoked): go to the sign-in page rather than show old numbers. */
  WB.checkSession = function () {
    var now = performance.now();
    if (now - sessionCheckedAt < 10000) return;
    sessionCheckedAt = now;
    fetch(WB.appUrl("api/session").toString(), { credentials: "same-origin" })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (body) {
        if (body && body.authenticated === false) {
          var here = window.location.pathname + window.location.search;
          window.location.assign(WB.appUrl("login?next=" + encodeURIComponent(here)).toString());
        }
      })
      .catch(function () { /* the server is down: the board shows stale, and reconnects */ });
  };

  WB.Connection.prototype.scheduleReconnect = function () {
    var self = this;
    if (this.retryTimer) return;
    // Exponential backoff, 0.5 s doubling up to 15 s, "full jitter" above the 0.5 s floor,
    // so that a hundred boards do not all reconnect at the same instant after a restart.
    var cap = Math.min(15000, 500 * Math.pow(2, this.attempt));
    var delay = 500 + Math.random() * (cap - 500);
    this.attempt = Math.min(this.attempt + 1, 10);
    this.retryTimer = window.setTimeout(function () {
      self.retryTimer = null;
      self.connect();
    }, delay);
  };

  WB.Connection.prototype.send = function (obj) {
    if (this.ws && this.open) {
      try { this.ws.send(JSON.stringify(obj)); } catch (e) { /* closing */ }
    }
  };

  WB.Connection.prototype.resync = function () {
    var now = performance.now();
    // At most one resync per two seconds: a server that conflates for a slow link would
    // otherwise be asked for the full state on every message.  One asked for sooner waits.
    if (now - this.lastResyncAt < 2000) { this.resyncPending = true; return; }
    this.resyncPending = false;
    this.lastResyncAt = now;
    this.send({ type: "resync" });
  };

  WB.Connection.prototype.receive = function (msg) {
    var now = performance.now();
    this.lastMsgAt = now;
    this.heardAt = now;
    this.attempt = 0; // the server answers: the next failure starts the backoff from 0.5 s again
    // Not from a broadcast or the alerts: the server keeps them as made and sends them again to every new socket,
    // so their server_time is when they changed (the clock would jump back to it on every load).
    var st = msg.type === "broadcast" || msg.type === "alerts" ? null : WB.parseTs(msg.server_time);
    if (st !== null) { this.lastServerMs = st; this.lastServerAt = now; }
    if (msg.type === "hello") {
      if (WB.isNum(msg.push_interval_s) && msg.push_interval_s > 0) this.pushInterval = msg.push_interval_s;
      if (WB.isNum(msg.stale_after_s) && msg.stale_after_s > 0) this.staleAfter = msg.stale_after_s;
      this.lastSeq = WB.isNum(msg.seq) ? msg.seq : null;
    } else if (WB.isNum(msg.seq)) {
      if (this.lastSeq !== null && msg.seq > this.lastSeq + 1) this.resync();
      if (this.lastSeq === null || msg.seq > this.lastSeq) this.lastSeq = msg.seq;
    }
    if (msg.source && typeof msg.source === "object") this.source = msg.source;
    var src = this.source || {};
    if (src.stale !== true && src.ready !== false && src.state !== "waiting" && this.lastServerMs !== null) {
      this.lastGoodServerMs = this.lastServerMs; // what "last update" means in the banner
    }
    var board = msg.type === "snapshot" || msg.type === "summary" || msg.type === "selection" ||
      msg.type === "board"; // the views that carry the numbers of a board
    var isData = board || msg.type === "agents" || msg.type === "intraday" || msg.type === "agents_delta" ||
      msg.type === "intraday_delta";
    if (isData && WB.isNum(msg.seq)) {
      if (this.maxDataSeq === null || msg.seq > this.maxDataSeq) this.maxDataSeq = msg.seq;
    }
    if (msg.type === "heartbeat" && WB.isNum(msg.data_seq) && this.maxDataSeq !== null &&
        msg.data_seq > this.maxDataSeq) {
      this.resync(); // the server sent data we never got (conflated or lost)
    }
    if (board) {
      this.dataConnId = this.connId;
      this.lastDataAt = now;
    }
    this.onMessage(msg);
    this.evaluate();
  };

  /**
   * The time the current snapshot stands for, now: its as_of plus the time since it arrived,
   * or as_of itself once the data is stale.  Measured from the arrival (not from the server's
   * clock) so that a wait never ticks further than the time that really passed since the data.
   */
  WB.Connection.prototype.dataNow = function (asOfMs) {
    if (asOfMs === null || asOfMs === undefined) return null;
    if (this.state.state === "stale" || this.state.state === "waiting" || this.lastDataAt === null) return asOfMs;
    return asOfMs + Math.max(0, performance.now() - this.lastDataAt);
  };

  /** The server's clock now (ms), estimated from the last server_time plus the time since it arrived. */
  WB.Connection.prototype.serverNow = function () {
    if (this.lastServerMs === null) return Date.now();
    return this.lastServerMs + (performance.now() - this.lastServerAt);
  };

  /**
   * No numbers to show yet (dashes, not zeros): no data message yet, or the server says it has none
   * (source.state "waiting", in data messages and heartbeats alike: when it changes without a change
   * of the data, the data already received is the current one).
   */
  WB.Connection.prototype.waiting = function () {
    return this.dataConnId < 0 || (this.source !== null && this.source.state === "waiting");
  };

  WB.Connection.prototype.computeState = function () {
    var now = performance.now();
    var src = this.source || {};
    if (this.waiting()) {
      var why = "noevents";
      if (!this.open) why = this.connId > 1 ? "socket" : "never";
      else if (this.dataConnId !== this.connId) why = "never";
      else if (src.stale === true) why = "source";
      else if (src.ready === false) why = "catchup";
      return { state: "waiting", reason: why };
    }
    if (!this.open) return { state: "stale", reason: "socket" };
    if (this.dataConnId !== this.connId) return { state: "stale", reason: "resync" };
    if (src.stale === true) return { state: "stale", reason: "source" };
    if (src.ready === false) return { state: "stale", reason: "catchup" };
    var age = (now - this.lastMsgAt) / 1000;
    if (age > this.staleAfter) return { state: "stale", reason: "timeout", age: age };
    if (age > 2 * this.pushInterval) return { state: "ageing", reason: "ageing", age: age };
    if (src.state === "quiet") return { state: "quiet", reason: "" };
    return { state: "fresh", reason: "" };
  };

  WB.Connection.prototype.evaluate = function () {
    var s = this.computeState();
    var now = performance.now();
    if (this.open && this.heardAt !== null) {
      var age = (now - this.heardAt) / 1000;
      // Probe a quiet socket: the server answers a ping with a heartbeat.
      if (age > 2 * this.pushInterval && now - this.lastPingAt > this.pushInterval * 1000) {
        this.lastPingAt = now;
        this.send({ type: "ping" });
      }
      if (this.resyncPending) this.resync();
      // Open for two pushes without the full state it should have started with: ask again.
      if (this.dataConnId !== this.connId && now - this.openedAt > 2000 * this.pushInterval) this.resync();
      // Silent for stale_after: assume a half-open TCP connection and start over.
      if (age > this.staleAfter) this.reconnectNow();
    }
    this.state = s;
    this.onState(s);
  };
})();
