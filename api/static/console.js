/* Mediator console. All text is shown with textContent: escaped. */
(function () {
  "use strict";

  var TOKEN_KEY = "fq-mediator";
  var EXPIRED_KEY = "fq-mediator-expired";
  var EXPIRED_TEXT = "登录已过期，请重新登录。";
  // Why the server ended this login (the error event before a 4401 close of the live socket).
  var ENDED_TEXT = {logout: "您已退出登录，请重新登录。", disabled: "该账号已被停用，请联系管理员。",
                    password: "密码已修改，请用新密码重新登录。"};
  var endedReason = null;
  var CANNED = [
    "您好，我是人民调解员，已经看过您和智能助手的对话，接下来由我为您服务。",
    "请您详细说说事情的经过：什么时间、和谁、因为什么发生了纠纷？",
    "请问对方的联系方式您方便提供吗？我们会先联系对方了解情况。",
    "根据您说的情况，建议您先保留好相关证据，比如合同、聊天记录、转账凭证、照片等。",
    "我们会尽快联系对方，约定时间组织双方调解，请保持电话畅通。",
    "如果调解不成，您可以依法申请仲裁或者向人民法院起诉，我可以告诉您具体怎么办。",
    "您的问题已经记录，我把对话交回智能助手，您还可以继续咨询其他法律问题。"
  ];
  var REASONS = {
    resident_request: "居民要求转人工", repeated_fallback: "机器人多次没能理解", emergency: "紧急情况",
    mediation_request: "申请调解", resident_request_bot_down: "机器人故障时转人工", bot: "机器人转交"
  };
  var STATUS = {waiting: "排队中", active: "进行中", released: "已交回机器人", closed: "已结束"};

  var $ = function (id) { return document.getElementById(id); };
  var auth = load();
  var tab = "waiting";
  var lists = {waiting: [], active: [], closed: []};
  var current = null;          // the handoff shown, with its messages
  var seen = {};
  var attached = [];
  var lastTyping = 0, typingTimer = null;

  function load() { try { return JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null"); } catch (e) { return null; } }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function clientId() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    return "m-" + Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function minutes(s) {
    if (s < 60) return Math.round(s) + " 秒";
    if (s < 3600) return Math.round(s / 60) + " 分钟";
    return (s / 3600).toFixed(1) + " 小时";
  }
  function hhmm(iso) {
    var d = new Date(iso);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }
  function label(c) {
    return c.kind === "precedent" ? (c.title || "案例") : "《" + (c.law || "") + "》" + (c.article_no || "");
  }

  function api(path, options) {
    options = options || {};
    var headers = {"Content-Type": "application/json"};
    if (auth) headers.Authorization = "Bearer " + auth.token;
    return fetch(path, {method: options.method || "GET", headers: headers, body: options.body}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (r.status === 401 && path !== "/api/mediators/login") { logout(true); }
        if (!r.ok) {
          var detail = body.detail;
          if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join("；");
          var extra = detail && typeof detail === "object" ? detail : null;
          if (extra) detail = extra.detail;
          var err = new Error(detail || r.statusText);
          err.status = r.status;
          err.extra = extra;
          throw err;
        }
        return body;
      });
    });
  }

  // ----- login -------------------------------------------------------------------------------------------
  function showLogin(message) {
    $("main-view").hidden = true;
    $("login-view").hidden = false;
    $("login-error").hidden = !message;
    $("login-error").textContent = message || "";
    $("login-username").focus();
  }
  function logout(expired) {
    if (auth && !expired) api("/api/mediators/logout", {method: "POST"}).catch(function () {});
    auth = null;
    sessionStorage.removeItem(TOKEN_KEY);
    // Remembered so that the reason survives a reload that races with the request that found the expiry.
    if (expired) sessionStorage.setItem(EXPIRED_KEY, "1"); else sessionStorage.removeItem(EXPIRED_KEY);
    live.close();
    showLogin(expired ? (ENDED_TEXT[endedReason] || EXPIRED_TEXT) : "");
    endedReason = null;
  }
  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    api("/api/mediators/login", {method: "POST", body: JSON.stringify({
      username: $("login-username").value.trim(), password: $("login-password").value})})
      .then(function (data) {
        auth = data;
        sessionStorage.setItem(TOKEN_KEY, JSON.stringify(data));
        sessionStorage.removeItem(EXPIRED_KEY);
        $("login-password").value = "";
        enter();
      })
      .catch(function (err) {
        showLogin(err.status === 401 ? "用户名或密码错误。" : err.status === 429 ? "失败次数过多，请稍后再试。" : "登录失败：" + err.message);
      });
  });
  $("logout").addEventListener("click", function () { logout(false); });

  function enter() {
    $("login-view").hidden = true;
    $("main-view").hidden = false;
    $("whoami").textContent = auth.display_name + (auth.role === "admin" ? "（管理员）" : "");
    refreshLists();
    live.connect();
  }

  // ----- queue -------------------------------------------------------------------------------------------
  function refreshLists() {
    return Promise.all(["waiting", "active", "closed"].map(function (s) {
      return api("/api/handoffs?status=" + s).then(function (rows) { lists[s] = rows; });
    })).then(function () {
      $("count-waiting").textContent = lists.waiting.length;
      $("count-active").textContent = lists.active.length;
      renderList();
    }).catch(function () {});
  }

  function renderList() {
    var ul = $("queue-list");
    ul.textContent = "";
    var rows = lists[tab];
    if (!rows.length) {
      ul.appendChild(el("li", "queue-item muted", tab === "waiting" ? "暂无排队的对话" : "暂无"));
      return;
    }
    rows.forEach(function (h) {
      var li = el("li", "queue-item" + (current && current.id === h.id ? " selected" : ""));
      li.setAttribute("data-handoff", h.id);
      li.setAttribute("data-priority", h.priority);
      var head = el("div", "qi-head");
      head.appendChild(el("span", "pri " + h.priority, h.priority === "urgent" ? "紧急" : "普通"));
      head.appendChild(el("span", "qi-type", h.dispute_type || "未分类"));
      var waitText = h.status === "waiting" ? "已等待 " + minutes(h.waiting_s) :
        h.status === "active" ? (h.mediator || "") : (h.outcome || STATUS[h.status]);
      head.appendChild(el("span", "qi-wait", waitText));
      li.appendChild(head);
      li.appendChild(el("div", "qi-reason", REASONS[h.reason] || h.reason));
      li.appendChild(el("div", "qi-summary", h.summary || "（无摘要）"));
      li.addEventListener("click", function () { open(h.id); });
      ul.appendChild(li);
    });
  }

  document.querySelectorAll(".tab").forEach(function (b) {
    b.addEventListener("click", function () {
      tab = b.getAttribute("data-tab");
      document.querySelectorAll(".tab").forEach(function (x) { x.classList.toggle("active", x === b); });
      renderList();
    });
  });

  // ----- one conversation --------------------------------------------------------------------------------
  function open(id) {
    return api("/api/handoffs/" + id).then(function (h) {
      if (current && live.isOpen() && current.conversation_id !== h.conversation_id) {
        live.send({type: "unwatch", conversation_id: current.conversation_id});
      }
      current = h;
      seen = {};
      attached = [];
      renderAttached();
      $("chat-empty").hidden = true;
      $("chat").hidden = false;
      $("transcript").textContent = "";
      h.messages.forEach(addMessage);
      renderHead();
      renderBotCitations();
      renderList();
      watch();
      $("transcript").scrollTop = $("transcript").scrollHeight;
    });
  }

  function renderHead() {
    var h = current;
    $("chat-title").textContent = (h.dispute_type || "未分类纠纷") + " · " + (REASONS[h.reason] || h.reason);
    var sub = STATUS[h.status] + (h.priority === "urgent" ? " · 紧急" : "") + (h.region ? " · " + h.region : "") +
      " · 转人工于 " + hhmm(h.created_at) + (h.mediator ? " · 调解员 " + h.mediator : "");
    $("chat-sub").textContent = sub;
    $("chat-summary").textContent = "机器人摘要：" + (h.summary || "无");
    var mine = h.status === "active" && (h.mine || auth.role === "admin");
    $("claim").hidden = h.status !== "waiting";
    $("release").hidden = !mine;
    $("close-case").hidden = !mine;
    $("reply-form").hidden = !mine;
    var p = h.precedent;
    $("review-precedent").hidden = !(h.status === "closed" && p && (p.status === "draft" || p.status === "held") &&
                                      (h.mine || auth.role === "admin"));
  }

  function addMessage(m) {
    if (m.id && seen[m.id]) return;
    if (m.id) seen[m.id] = true;
    var box = el("div", "msg " + m.sender);
    box.setAttribute("data-id", m.id || "");
    var who = m.sender === "resident" ? "居民" : m.sender === "bot" ? "智能助手" :
      m.sender === "mediator" ? "调解员 " + (m.mediator || "") : "系统";
    if (m.sender !== "system") box.appendChild(el("div", "who", who + " · " + hhmm(m.created_at)));
    box.appendChild(el("div", "text", m.sender === "resident" && m.display ? m.display + "（按钮）" : m.text));
    if (m.citations && m.citations.length) {
      box.appendChild(el("div", "mcites", "引用：" + m.citations.map(label).join("、")));
    }
    $("transcript").appendChild(box);
    var t = $("transcript");
    if (t.scrollHeight - t.scrollTop - t.clientHeight < 200) t.scrollTop = t.scrollHeight;
  }

  function citationBox(c, withInsert) {
    var d = el("div", "cite");
    var head = el("div", "cite-head");
    head.appendChild(el("span", "cite-title", label(c)));
    if (withInsert) {
      var b = el("button", null, "插入");
      b.type = "button";
      b.addEventListener("click", function () { insertCitation(c); });
      head.appendChild(b);
    }
    d.appendChild(head);
    if (c.kind === "precedent" && c.outcome) d.appendChild(el("div", "cite-meta", "结果：" + c.outcome));
    else if (c.status) d.appendChild(el("div", "cite-meta", c.status));
    d.appendChild(el("div", "cite-text", c.text || ""));
    return d;
  }

  function renderBotCitations() {
    var box = $("bot-citations");
    box.textContent = "";
    var all = [], keys = {};
    var found = (current.suggested_citations || []).slice();
    current.messages.forEach(function (m) {
      if (m.sender === "bot") found = found.concat(m.citations || []);
    });
    found.forEach(function (c) {
      var k = label(c);
      if (!keys[k]) { keys[k] = true; all.push(c); }
    });
    if (!all.length) { box.appendChild(el("p", "muted", "无")); return; }
    all.forEach(function (c) { box.appendChild(citationBox(c, true)); });
  }

  function insertCitation(c) {
    var area = $("reply-text");
    var text = label(c) + (c.kind === "precedent" ? "" : "规定：" + (c.text || ""));
    area.value = (area.value ? area.value.replace(/\s*$/, "") + "\n" : "") + text;
    if (attached.length < 5 && !attached.some(function (a) { return label(a) === label(c); })) {
      attached.push(c);
      renderAttached();
    }
    area.focus();
  }

  function renderAttached() {
    var box = $("attached");
    box.textContent = "";
    attached.forEach(function (c, i) {
      var chip = el("span", "att", label(c));
      var x = el("button", null, "×");
      x.type = "button";
      x.title = "不附带这张卡片";
      x.addEventListener("click", function () { attached.splice(i, 1); renderAttached(); });
      chip.appendChild(x);
      box.appendChild(chip);
    });
  }

  $("claim").addEventListener("click", function () {
    var id = current.id;
    $("claim").disabled = true;
    api("/api/handoffs/" + id + "/claim", {method: "POST"})
      .then(function () { return open(id); })
      .catch(function (err) { alert(err.status === 409 ? "这个对话已被其他调解员接入。" : "接入失败：" + err.message); return open(id); })
      .then(function () { $("claim").disabled = false; refreshLists(); });
  });

  $("release").addEventListener("click", function () {
    if (!confirm("把对话交回智能助手？")) return;
    api("/api/handoffs/" + current.id + "/release", {method: "POST"})
      .then(function () { return open(current.id); })
      .catch(function (err) { alert("操作失败：" + err.message); })
      .then(refreshLists);
  });

  $("close-case").addEventListener("click", function () {
    $("close-error").hidden = true;
    $("close-dialog").showModal();
  });
  $("close-cancel").addEventListener("click", function () { $("close-dialog").close(); });
  $("close-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = {outcome: $("close-outcome").value, summary: $("close-summary").value,
                facts: $("close-facts").value};
    if ($("close-follow-up").value) body.follow_up_date = $("close-follow-up").value;
    api("/api/handoffs/" + current.id + "/close", {method: "POST", body: JSON.stringify(body)})
      .then(function (closed) {
        $("close-dialog").close();
        $("close-summary").value = "";
        $("close-facts").value = "";
        $("close-follow-up").value = "";
        return open(current.id).then(function () { if (closed.precedent) showPrecedent(closed.precedent); });
      })
      .then(refreshLists)
      .catch(function (err) { $("close-error").textContent = "无法结束：" + err.message; $("close-error").hidden = false; });
  });

  // ----- the public precedent: review the anonymised preview, edit, approve or reject -----------------------
  var precedent = null;
  function showPrecedent(p) {
    precedent = p;
    $("precedent-type").value = p.fields.dispute_type || "";
    $("precedent-facts").value = p.fields.facts || "";
    $("precedent-agreement").value = p.fields.agreement || "";
    $("precedent-statutes").value = (p.fields.statutes || []).join("、");
    $("precedent-preview").textContent = p.title + "\n" + p.text;
    var held = $("precedent-held");
    held.textContent = "";
    held.hidden = !(p.held_reasons && p.held_reasons.length);
    if (!held.hidden) {
      held.appendChild(el("div", null, "以下内容可能仍能识别当事人，请修改后再批准公开："));
      p.held_reasons.forEach(function (r) { held.appendChild(el("div", "held-reason", r)); });
    }
    $("precedent-error").hidden = true;
    if (!$("precedent-dialog").open) $("precedent-dialog").showModal();
  }
  function precedentEdit() {
    return {dispute_type: $("precedent-type").value.trim() || "民间纠纷", facts: $("precedent-facts").value,
            agreement: $("precedent-agreement").value,
            statutes: $("precedent-statutes").value.split(/[、,，;；\n]/).map(function (x) { return x.trim(); })
              .filter(function (x) { return x; })};
  }
  function precedentFailed(err) {
    if (err.extra && err.extra.held_reasons) {
      return api("/api/precedents/" + precedent.id).then(showPrecedent);
    }
    $("precedent-error").textContent = "操作失败：" + err.message;
    $("precedent-error").hidden = false;
  }
  function savePrecedent() {
    return api("/api/precedents/" + precedent.id, {method: "PUT", body: JSON.stringify(precedentEdit())})
      .then(function (p) { showPrecedent(p); return p; });
  }
  $("review-precedent").addEventListener("click", function () {
    api("/api/precedents/" + current.precedent.id).then(showPrecedent)
      .catch(function (err) { alert("无法打开案例：" + err.message); });
  });
  $("precedent-save").addEventListener("click", function () { savePrecedent().catch(precedentFailed); });
  $("precedent-approve").addEventListener("click", function () {
    savePrecedent().then(function (p) {
      if (p.status === "held") return;
      return api("/api/precedents/" + p.id + "/approve", {method: "POST"}).then(function () {
        $("precedent-dialog").close();
        return open(current.id);
      });
    }).catch(precedentFailed);
  });
  $("precedent-reject").addEventListener("click", function () {
    if (!confirm("不公开这个案例？不公开的案例不会进入案例库。")) return;
    api("/api/precedents/" + precedent.id + "/reject", {method: "POST"}).then(function () {
      $("precedent-dialog").close();
      return open(current.id);
    }).catch(precedentFailed);
  });
  $("precedent-later").addEventListener("click", function () { $("precedent-dialog").close(); });

  CANNED.forEach(function (text) {
    var o = el("option", null, text.length > 18 ? text.slice(0, 18) + "…" : text);
    o.value = text;
    $("canned").appendChild(o);
  });
  $("canned").addEventListener("change", function () {
    var v = $("canned").value;
    if (!v) return;
    var area = $("reply-text");
    area.value = area.value ? area.value.replace(/\s*$/, "") + "\n" + v : v;
    $("canned").value = "";
    area.focus();
  });

  $("reply-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("reply-text").value.trim();
    if (!text || !current) return;
    var body = {text: text, client_id: clientId(), citations: attached};
    $("reply-send").disabled = true;
    api("/api/handoffs/" + current.id + "/messages", {method: "POST", body: JSON.stringify(body)})
      .then(function (m) {
        addMessage(m);
        $("reply-text").value = "";
        attached = [];
        renderAttached();
      })
      .catch(function (err) { alert("发送失败：" + err.message); })
      .then(function () { $("reply-send").disabled = false; $("reply-text").focus(); });
  });
  $("reply-text").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("reply-form").requestSubmit(); }
  });
  $("reply-text").addEventListener("input", function () {
    var now = Date.now();
    if (!current || !live.isOpen() || now - lastTyping < 2000) return;
    lastTyping = now;
    live.send({type: "typing", conversation_id: current.conversation_id});
  });

  // ----- search ------------------------------------------------------------------------------------------
  $("search-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var q = $("search-q").value.trim();
    if (!q) return;
    var box = $("search-results");
    box.textContent = "";
    box.appendChild(el("p", "muted", "检索中…"));
    api("/api/search?k=8&q=" + encodeURIComponent(q) + "&kind=" + $("search-kind").value)
      .then(function (data) {
        box.textContent = "";
        if (!data.hits.length) box.appendChild(el("p", "muted", "没有找到"));
        data.hits.forEach(function (c) { box.appendChild(citationBox(c, true)); });
      })
      .catch(function (err) { box.textContent = ""; box.appendChild(el("p", "error", "检索失败：" + err.message)); });
  });

  // ----- live --------------------------------------------------------------------------------------------
  function watch() {
    if (current && live.isOpen()) {
      live.send({type: "watch", conversation_id: current.conversation_id});
    }
  }

  var live = window.Fengqiao.reconnecting({
    wanted: function () { return auth; },
    path: function () { return "/ws/mediators?token=" + encodeURIComponent(auth.token); },
    onOpen: function () {
      $("live").className = "live on";
      watch();
      refreshLists();
      if (current) open(current.id);
    },
    onEvent: onEvent,
    onClose: function (ev) {
      $("live").className = "live off";
      if (ev.code === 4401) {  // the login may have ended: back only if it still works (else logout() ran)
        api("/api/mediators/me").then(function () { live.later(500); }).catch(function () {});
        return true;
      }
      return false;
    }
  });

  function onEvent(e) {
    if (e.type === "error" && e.reason) {
      endedReason = e.reason;  // the socket closes with 4401 next: back to the login form
    } else if (e.type === "handoff" || e.type === "queue") {
      refreshLists();
      if (current && e.handoff_id === current.id && e.type === "handoff") open(current.id);
    } else if (e.type === "message" && current && e.conversation_id === current.conversation_id) {
      addMessage(e.message);
      if (e.message.sender === "bot" && e.message.citations && e.message.citations.length) {
        current.messages.push(e.message);
        renderBotCitations();
      }
      if (e.message.sender === "resident") $("resident-typing").hidden = true;
    } else if (e.type === "mode" && current && e.conversation_id === current.conversation_id) {
      open(current.id);
    } else if (e.type === "typing" && e.from === "resident" && current && e.conversation_id === current.conversation_id) {
      $("resident-typing").hidden = !e.typing;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { $("resident-typing").hidden = true; }, 5000);
    }
  }

  // Waiting times tick on screen without asking the server.
  setInterval(function () {
    lists.waiting.forEach(function (h) { h.waiting_s += 15; });
    if (tab === "waiting") renderList();
  }, 15000);

  if (auth) {
    api("/api/mediators/me").then(enter).catch(function () {});
  } else {
    showLogin(sessionStorage.getItem(EXPIRED_KEY) ? EXPIRED_TEXT : "");
  }
})();
