/* Resident widget. Everything shown goes through textContent, never through HTML parsing: it is escaped.
 *
 * Messages carry a client-generated id; unsent ones wait in localStorage and are sent again after the network
 * comes back. The server answers a repeated id with the first answer, so nothing is stored twice, and the widget
 * shows each server message once (by its id).
 *
 * A conversation's token expires after the conversation has been idle for a while (401 from the API, close code
 * 4401 on the socket): the widget then forgets it, starts a new conversation, says so in one line, and sends
 * there whatever had not been sent (the text being typed stays in the box).
 */
(function () {
  "use strict";

  var CONV_KEY = "fq-conversation";
  var FONT_KEY = "fq-large-font";
  var HANDOFF_PAYLOAD = "/request_human";
  var EARLY_KEY = "fq-outbox-none";   // messages waiting for a conversation to exist
  var EXPIRED_NOTE = "上次的咨询已经过期，已为您开始新的咨询，没发出去的话会在这里重新发送。";

  var $ = function (id) { return document.getElementById(id); };
  var log = $("log"), form = $("send"), input = $("text"), sendBtn = $("btn");
  var banner = $("banner"), net = $("net"), typingRow = $("typing"), typingText = $("typing-text");
  var modeLabel = $("mode-label"), askBtn = $("ask-mediator"), fontBtn = $("font-toggle");
  var closedBar = $("closed");

  var conv = load(CONV_KEY);
  var mode = "bot";
  var mediatorName = null;
  var seen = {};            // server message id -> row element
  var pendingRows = {};     // client_id -> row element
  var lastId = 0;
  var wsWanted = true;
  var flushing = false, flushTimer = null;
  var typingTimer = null, lastTypingSent = 0;
  var bannerTimer = null;
  var lastTimeShown = 0;
  var starting = null;      // the request that creates a new conversation, while it runs

  function load(key) { try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; } }
  function save(key, value) { localStorage.setItem(key, JSON.stringify(value)); }
  function outboxKey() { return "fq-outbox-" + (conv ? conv.conversation_id : "none"); }
  function outbox() { return load(outboxKey()) || []; }
  function setOutbox(items) { save(outboxKey(), items); }

  function newClientId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "c-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function hhmm(iso) {
    var d = iso ? new Date(iso) : new Date();
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function nearBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 120; }
  function scrollDown(force) { if (force || nearBottom()) log.scrollTop = log.scrollHeight; }

  function timeSeparator(iso) {
    var t = iso ? new Date(iso).getTime() : Date.now();
    if (t - lastTimeShown > 5 * 60 * 1000) {
      log.appendChild(el("div", "time-sep", hhmm(iso)));
      lastTimeShown = t;
    }
  }

  // ----- cards -------------------------------------------------------------------------------------------
  function citationCard(c) {
    var card = el("div", "card collapsed");
    card.setAttribute("data-kind", c.kind || "statute");
    var head = el("div", "card-head");
    if (c.kind === "precedent") {
      head.appendChild(el("span", "card-title", c.title || "相似案例"));
      head.appendChild(el("span", "badge precedent", "案例"));
      card.appendChild(head);
      if (c.outcome) card.appendChild(el("div", "card-outcome", "结果：" + c.outcome));
    } else {
      head.appendChild(el("span", "card-title", "《" + (c.law || "") + "》" + (c.article_no || "")));
      var status = c.status || "效力未知";
      head.appendChild(el("span", "badge" + (status === "现行有效" ? "" : " warn"), status));
      card.appendChild(head);
    }
    var text = el("div", "card-text", c.text || "");
    card.appendChild(text);
    if ((c.text || "").length > 60) {
      var toggle = el("button", "card-toggle", "展开全文");
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", "false");
      toggle.addEventListener("click", function () {
        var open = card.classList.toggle("collapsed") === false;
        toggle.textContent = open ? "收起" : "展开全文";
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
      card.appendChild(toggle);
    } else {
      card.classList.remove("collapsed");
    }
    return card;
  }

  function quickReplies(buttons) {
    var box = el("div", "quick");
    buttons.forEach(function (b) {
      var btn = el("button", null, b.title);
      btn.type = "button";
      btn.setAttribute("data-payload", b.payload);
      btn.addEventListener("click", function () {
        if (mode === "closed") return;
        box.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        send(b.payload, b.title);
      });
      box.appendChild(btn);
    });
    return box;
  }

  // ----- rendering ---------------------------------------------------------------------------------------
  function senderLabel(m) {
    if (m.sender === "bot") return "智能助手";
    if (m.sender === "mediator") return "人民调解员" + (m.mediator ? " " + m.mediator : "");
    return "我";
  }

  function renderMessage(m) {
    if (m.id && seen[m.id]) return seen[m.id];
    if (m.sender === "resident" && m.client_id && pendingRows[m.client_id]) {
      var pending = pendingRows[m.client_id];
      markSent(pending, m);
      return pending;
    }
    timeSeparator(m.created_at);
    var row;
    if (m.sender === "system") {
      row = el("div", "row system");
      row.appendChild(el("div", "system-note", m.text));
    } else {
      row = el("div", "row " + m.sender);
      var avatar = el("div", "avatar " + m.sender, m.sender === "bot" ? "法" : m.sender === "mediator" ? "调" : "我");
      avatar.setAttribute("aria-hidden", "true");
      row.appendChild(avatar);
      var body = el("div", "body");
      if (m.sender !== "resident") body.appendChild(el("div", "who", senderLabel(m)));
      var shown = m.sender === "resident" && m.display ? m.display : displayText(m.text);
      body.appendChild(el("div", "bubble", shown));
      var citations = m.citations || [];
      if (citations.length) {
        var cards = el("div", "cards");
        citations.forEach(function (c) { cards.appendChild(citationCard(c)); });
        body.appendChild(cards);
      }
      if (m.buttons && m.buttons.length) body.appendChild(quickReplies(m.buttons));
      body.appendChild(el("div", "meta", hhmm(m.created_at)));
      row.appendChild(body);
    }
    if (m.id) {
      row.setAttribute("data-id", m.id);
      seen[m.id] = row;
      lastId = Math.max(lastId, m.id);
    }
    row.setAttribute("data-sender", m.sender);
    log.appendChild(row);
    scrollDown(m.sender === "resident");
    return row;
  }

  function displayText(text) {
    if (text === HANDOFF_PAYLOAD) return "转人工调解员";
    return text;
  }

  function renderPending(item) {
    var row = renderMessage({sender: "resident", text: item.text, display: item.display, created_at: null});
    row.setAttribute("data-client-id", item.client_id);
    row.classList.add("pending");
    row.querySelector(".meta").textContent = "发送中…";
    pendingRows[item.client_id] = row;
    scrollDown(true);
    return row;
  }

  function markSent(row, m) {
    row.classList.remove("pending");
    var meta = row.querySelector(".meta");
    meta.className = "meta";
    meta.textContent = hhmm(m.created_at);
    if (m.id) {
      row.setAttribute("data-id", m.id);
      seen[m.id] = row;
      lastId = Math.max(lastId, m.id);
    }
    if (m.client_id) delete pendingRows[m.client_id];
  }

  function markUnsent(clientId, text, failed) {
    var row = pendingRows[clientId];
    if (!row) return;
    var meta = row.querySelector(".meta");
    meta.className = "meta failed";
    meta.textContent = text;
    if (failed) { row.classList.remove("pending"); delete pendingRows[clientId]; }
  }

  // ----- mode, banner, typing ----------------------------------------------------------------------------
  function showBanner(kind, text, ms) {
    clearTimeout(bannerTimer);
    banner.className = "banner " + kind;
    banner.textContent = text;
    banner.hidden = false;
    if (ms) bannerTimer = setTimeout(function () { banner.hidden = true; }, ms);
  }

  function queueText(q) {
    if (!q) return "正在为您转接人民调解员，请稍候…";
    var minutes = Math.max(1, Math.round((q.estimated_wait_s || 0) / 60));
    return "正在为您转接人民调解员：您排在第 " + q.position + " 位，预计等待约 " + minutes + " 分钟";
  }

  function setMode(next, extra) {
    var previous = mode;
    mode = next;
    extra = extra || {};
    if (extra.mediator) mediatorName = extra.mediator;
    askBtn.hidden = next !== "bot";
    closedBar.hidden = next !== "closed";
    form.hidden = next === "closed";
    if (next === "waiting") {
      modeLabel.textContent = "等待人民调解员接入";
      showBanner("waiting", queueText(extra.queue));
    } else if (next === "mediator") {
      modeLabel.textContent = "人民调解员" + (mediatorName ? " " + mediatorName : "") + "为您服务";
      showBanner("mediator", "人民调解员" + (mediatorName ? " " + mediatorName + " " : "") + "已接入对话");
    } else if (next === "bot") {
      modeLabel.textContent = "智能助手为您服务";
      if (previous === "mediator" || previous === "waiting") {
        showBanner("left", "调解员已离开对话，智能助手继续为您服务", 8000);
      } else if (!bannerTimer) {
        banner.hidden = true;
      }
    } else if (next === "closed") {
      modeLabel.textContent = "本次调解已结束";
      showBanner("left", "本次调解已结束，感谢您的信任");
    }
    document.body.setAttribute("data-mode", next);
  }

  function showTyping(from, on, name) {
    clearTimeout(typingTimer);
    if (!on || from === "resident") { typingRow.hidden = true; return; }
    typingText.textContent = from === "mediator" ? "调解员" + (name ? " " + name : "") + "正在输入…" : "智能助手正在思考…";
    typingRow.hidden = false;
    typingTimer = setTimeout(function () { typingRow.hidden = true; }, from === "bot" ? 60000 : 6000);
  }

  // ----- server ------------------------------------------------------------------------------------------
  function api(path, options) {
    options = options || {};
    var headers = {"Content-Type": "application/json"};
    if (conv) headers.Authorization = "Bearer " + conv.token;
    return fetch(path, {method: options.method || "GET", headers: headers, body: options.body}).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (!resp.ok) {
          var err = new Error(typeof body.detail === "string" ? body.detail : resp.statusText);
          err.status = resp.status;
          err.retryAfter = Number(resp.headers.get("Retry-After") || 0);
          throw err;
        }
        return body;
      });
    });
  }

  function handleReply(data) {
    (data.replies || []).forEach(function (r) {
      renderMessage({id: r.id, sender: "bot", text: r.text, citations: r.citations, buttons: r.buttons,
                     created_at: r.created_at});
    });
    if (data.mode && data.mode !== mode) setMode(data.mode, {queue: data.queue});
    else if (data.mode === "waiting" && data.queue) showBanner("waiting", queueText(data.queue));
  }

  function send(text, display) {
    var item = {client_id: newClientId(), text: text, display: display || null};
    var items = outbox();
    items.push(item);
    setOutbox(items);
    renderPending(item);
    flush();
  }

  function flush() {
    if (flushing || !conv) return;
    var items = outbox();
    if (!items.length) return;
    flushing = true;
    var item = items[0];
    var body = {text: item.text, client_id: item.client_id};
    if (item.display) body.display = item.display;
    api("/api/conversations/" + conv.conversation_id + "/messages", {method: "POST", body: JSON.stringify(body)})
      .then(function (data) {
        dequeue(item.client_id);
        var row = pendingRows[item.client_id];
        if (row) markSent(row, {id: data.message_id, client_id: item.client_id, created_at: new Date().toISOString()});
        handleReply(data);
        flushing = false;
        flush();
      })
      .catch(function (err) {
        flushing = false;
        if (!err.status) {  // the network: keep it and send it again when we are back
          markUnsent(item.client_id, "未发送，联网后自动重发", false);
          scheduleFlush(4000);
        } else if (err.status === 401) {
          expired();  // the message stays in the outbox: it goes to the new conversation
        } else if (err.status === 429) {
          markUnsent(item.client_id, "发送太频繁，稍后自动重发", false);
          scheduleFlush(Math.max(2, err.retryAfter || 5) * 1000);
        } else if (err.status === 503 && err.retryAfter) {
          // The gateway is at its bound: the message was not taken; it goes again, same client_id, when told.
          markUnsent(item.client_id, "现在咨询的人较多，正在排队，" + err.retryAfter + " 秒后自动重发", false);
          scheduleFlush(Math.max(1, err.retryAfter) * 1000);
        } else if (err.status >= 500) {
          markUnsent(item.client_id, "服务暂时不可用，稍后自动重发", false);
          scheduleFlush(5000);
        } else {
          dequeue(item.client_id);
          markUnsent(item.client_id, "发送失败：" + err.message, true);
          if (err.status === 409) refreshState();
          if (err.status === 403 || err.status === 404) startNew();
          flush();
        }
      });
  }

  function dequeue(clientId) {
    setOutbox(outbox().filter(function (x) { return x.client_id !== clientId; }));
  }

  function scheduleFlush(ms) {
    clearTimeout(flushTimer);
    flushTimer = setTimeout(flush, ms);
  }

  function refreshState() {
    return api("/api/conversations/" + conv.conversation_id).then(function (data) {
      data.messages.forEach(renderMessage);
      setMode(data.mode, {queue: data.queue, mediator: data.mediator});
    });
  }

  // ----- live events -------------------------------------------------------------------------------------
  var live = window.Fengqiao.reconnecting({
    wanted: function () { return conv && wsWanted; },
    path: function () {
      return "/ws/conversations/" + encodeURIComponent(conv.conversation_id) +
        "?token=" + encodeURIComponent(conv.token) + "&after=" + lastId;
    },
    onOpen: function () {
      net.hidden = true;
      flush();
    },
    onEvent: onEvent,
    onClose: function (ev) {
      if (ev.code === 4401) { expired(); return true; }
      if (ev.code === 4403 || ev.code === 4404) { startNew(); return true; }
      net.hidden = false;
      return false;
    }
  });

  function onEvent(e) {
    if (e.type === "hello") {
      (e.messages || []).forEach(renderMessage);
      setMode(e.mode, {queue: e.queue, mediator: e.mediator});
    } else if (e.type === "message") {
      renderMessage(e.message);
      if (e.message.sender === "mediator" || e.message.sender === "bot") showTyping(e.message.sender, false);
    } else if (e.type === "mode") {
      setMode(e.mode, {mediator: e.mediator});
    } else if (e.type === "queue") {
      if (mode === "waiting") showBanner("waiting", queueText(e));
    } else if (e.type === "typing") {
      showTyping(e.from, e.typing, e.name);
    }
  }

  function sendTyping() {
    if (!live.isOpen() || mode !== "mediator") return;
    var now = Date.now();
    if (now - lastTypingSent < 2000) return;
    lastTypingSent = now;
    live.send({type: "typing"});
  }

  // ----- start -------------------------------------------------------------------------------------------
  function reset() {
    log.textContent = "";
    seen = {}; pendingRows = {}; lastId = 0; lastTimeShown = 0; mediatorName = null;
    banner.hidden = true;
  }

  function startNew(notice) {
    if (starting) return starting;
    if (conv) localStorage.removeItem(outboxKey());
    conv = null;
    localStorage.removeItem(CONV_KEY);
    live.close();
    reset();
    starting = api("/api/conversations", {method: "POST", body: "{}"}).then(function (created) {
      starting = null;
      conv = created;
      save(CONV_KEY, conv);
      setMode("bot");
      if (notice) renderMessage({sender: "system", text: notice});
      renderMessage({sender: "bot", text: "您好！我是枫桥法律助手。请用一两句话说说您遇到的事情，我会帮您找到相关的法律规定；" +
                     "需要时也可以点右上角“找调解员”，由人民调解员为您服务。"});
      // Typed before the conversation existed, or left unsent in an expired one: it belongs to this one.
      var early = load(EARLY_KEY) || [];
      if (early.length) setOutbox(outbox().concat(early));
      localStorage.removeItem(EARLY_KEY);
      early.forEach(function (item) { if (!pendingRows[item.client_id]) renderPending(item); });
      live.connect();
      flush();
    }, function (err) {
      starting = null;
      if (err.status && err.status !== 429 && err.status < 500) throw err;
      // Offline, busy, or too many new conversations from this network: try again (nothing is lost meanwhile).
      showBanner("urgent", "暂时无法开始新的咨询（" + err.message + "），稍后自动重试");
      setTimeout(function () { startNew(notice); }, Math.max(2, err.retryAfter || 5) * 1000);
    });
    return starting;
  }

  // The token no longer works (the conversation was idle too long): a new conversation, told in one line, and
  // whatever was not sent yet goes there.
  function expired() {
    if (starting) return starting;
    var unsent = conv ? outbox() : [];
    if (unsent.length) save(EARLY_KEY, (load(EARLY_KEY) || []).concat(unsent));
    return startNew(EXPIRED_NOTE);
  }

  function start() {
    if (!conv) return startNew();
    return api("/api/conversations/" + conv.conversation_id).then(function (data) {
      reset();
      var known = {};
      data.messages.forEach(function (m) { renderMessage(m); if (m.client_id) known[m.client_id] = true; });
      setMode(data.mode, {queue: data.queue, mediator: data.mediator});
      // Sent before the page went away, answer lost on the way: the server has it already.
      setOutbox(outbox().filter(function (x) { return !known[x.client_id]; }));
      outbox().forEach(renderPending);
      scrollDown(true);
      live.connect();
    }).catch(function (err) {
      if (err.status === 401) return expired();
      if (err.status) return startNew();
      // Offline at start: show what waits to be sent and keep trying.
      outbox().forEach(renderPending);
      net.hidden = false;
      setTimeout(start, 4000);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || mode === "closed") return;
    if (text.length > 2000) text = text.slice(0, 2000);
    input.value = "";
    autosize();
    send(text);
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(140, input.scrollHeight + 2) + "px";
  }
  input.addEventListener("input", function () { autosize(); sendTyping(); });

  askBtn.addEventListener("click", function () {
    if (!conv || mode !== "bot") return;
    askBtn.disabled = true;
    api("/api/conversations/" + conv.conversation_id + "/handoff", {method: "POST", body: "{}"})
      .then(function (data) { if (data.mode !== mode) setMode(data.mode, {queue: data.queue}); })
      .catch(function (err) {
        if (err.status === 401) { expired(); return; }
        showBanner("urgent", "暂时无法转接：" + err.message, 6000);
      })
      .then(function () { askBtn.disabled = false; });
  });

  function applyFont(large) {
    document.documentElement.classList.toggle("large", large);
    fontBtn.setAttribute("aria-pressed", large ? "true" : "false");
    fontBtn.textContent = large ? "标准字" : "大字";
  }
  fontBtn.addEventListener("click", function () {
    var large = !document.documentElement.classList.contains("large");
    localStorage.setItem(FONT_KEY, large ? "1" : "0");
    applyFont(large);
  });
  applyFont(localStorage.getItem(FONT_KEY) === "1");

  $("new-conversation").addEventListener("click", function () { startNew(); });
  window.addEventListener("online", function () { flush(); if (!live.hasSocket()) live.connect(); });
  window.addEventListener("offline", function () { net.hidden = false; });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { flush(); if (!live.hasSocket()) live.connect(); }
  });

  start().catch(function (e) { showBanner("urgent", "无法连接服务：" + e.message); });
})();
