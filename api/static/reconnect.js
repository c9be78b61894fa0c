/* The live socket that the widget and the console both keep open; each page loads this before its own script.
 *
 * window.Fengqiao.reconnecting(options) returns a handle; nothing connects until handle.connect().
 *   options.wanted()    falsy: connect() does nothing (no conversation yet, not logged in)
 *   options.path()      the socket's path and query on this host, read at each connect (the token may change)
 *   options.onOpen()    the socket is open; the backoff has been reset
 *   options.onEvent(e)  one event, parsed from JSON (a frame that is not JSON is ignored)
 *   options.onClose(ev) the current socket closed: return true when the page takes care of it; otherwise the
 *                       socket comes back after 1 s, 2 s, 4 s, 8 s, then every 15 s (500 ms doubled per try)
 * A socket dropped with handle.close() closes without onClose and does not come back by itself.
 */
(function () {
  "use strict";

  var MAX_DELAY_MS = 15000;

  function reconnecting(options) {
    var ws = null, retry = 0, timer = null;

    function connect() {
      if (!options.wanted()) return;
      clearTimeout(timer);
      var proto = location.protocol === "https:" ? "wss:" : "ws:";
      var socket = new WebSocket(proto + "//" + location.host + options.path());
      ws = socket;
      socket.onopen = function () {
        retry = 0;
        options.onOpen();
      };
      socket.onmessage = function (ev) {
        var event;
        try { event = JSON.parse(ev.data); } catch (e) { return; }
        options.onEvent(event);
      };
      socket.onclose = function (ev) {
        if (ws !== socket) return;  // dropped with close(), or replaced by a newer socket
        ws = null;
        if (options.onClose(ev)) return;
        retry = Math.min(retry + 1, 6);
        later(Math.min(MAX_DELAY_MS, 500 * Math.pow(2, retry)));
      };
    }

    // Connect after ms, outside the backoff (which neither grows nor resets).
    function later(ms) { timer = setTimeout(connect, ms); }

    function isOpen() { return ws !== null && ws.readyState === WebSocket.OPEN; }

    return {
      connect: connect,
      later: later,
      hasSocket: function () { return ws !== null; },  // open or still connecting
      isOpen: isOpen,
      send: function (message) { if (isOpen()) ws.send(JSON.stringify(message)); },
      close: function () { if (ws) { var old = ws; ws = null; old.close(); } }
    };
  }

  window.Fengqiao = window.Fengqiao || {};
  window.Fengqiao.reconnecting = reconnecting;
})();
