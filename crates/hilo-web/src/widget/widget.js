/*
 * Hilo web chat. Embed with one tag:
 *   <script src="https://hilo.example.com/widget.js" data-channel="CHANNEL_ID" async></script>
 * Optional: data-lang="es" or "en" (else the browser's language); and, for a signed-in
 * visitor, window.hiloChat = {user_id: "...", identifier_hash: "..."} (or email)
 * set before the tag, or hiloChat.identify({...}) later. identifier_hash is
 * hex(HMAC-SHA256(the channel's identity secret, the user_id or email)), computed on
 * the site's server.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__hiloChatLoaded) return;
  window.__hiloChatLoaded = true;
  var channel = script.getAttribute("data-channel");
  if (!channel) return;
  var base = new URL(script.src, location.href);
  var socketUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host +
    "/widget/" + encodeURIComponent(channel) + "/socket";

  var TEXTS = {
    en: {
      open: "Open chat", close: "Close chat", title: "Chat with us",
      label: "Your message", send: "Send", placeholder: "Write a message…",
      offline: "Reconnecting…", you: "You", us: "Us", failed: "Not sent", typing: "Typing…",
      refused: "This chat could not confirm who you are.", limited: "Slow down a moment, please."
    },
    es: {
      open: "Abrir el chat", close: "Cerrar el chat", title: "Habla con nosotros",
      label: "Tu mensaje", send: "Enviar", placeholder: "Escribe un mensaje…",
      offline: "Reconectando…", you: "Tú", us: "Nosotros", failed: "No enviado", typing: "Escribiendo…",
      refused: "Este chat no ha podido confirmar quién eres.", limited: "Espera un momento, por favor."
    }
  };
  var lang = (script.getAttribute("data-lang") || navigator.language || "en").slice(0, 2).toLowerCase();
  var t = TEXTS[lang] || TEXTS.en;

  var store = {
    get: function (k) { try { return localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { localStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  };
  var tokenKey = "hilo_chat_token:" + channel;
  var activeKey = "hilo_chat_active:" + channel;

  // The anonymous id the site's Segment SDK uses, so chat and browsing are one profile.
  function anonymousId() {
    var id = null;
    try {
      if (window.analytics && typeof window.analytics.user === "function") {
        id = window.analytics.user().anonymousId();
      }
    } catch (e) { id = null; }
    if (!id) id = store.get("ajs_anonymous_id");
    if (!id) {
      var m = document.cookie.match(/(?:^|;\s*)ajs_anonymous_id=([^;]*)/);
      if (m) id = decodeURIComponent(m[1]);
    }
    if (id) id = String(id).replace(/^"|"$/g, "");
    if (!id) {
      id = store.get("hilo_anonymous_id");
      if (!id) {
        id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
          : String(Date.now()) + Math.random().toString(16).slice(2);
        store.set("hilo_anonymous_id", id);
      }
    }
    return id;
  }

  var identity = window.hiloChat || {};
  var messages = {}; // id -> element
  var pending = [];  // frames not acknowledged yet, resent after a reconnect
  var typingShown = null;
  var socket = null, ready = false, retry = 0, open = false, hasChat = !!store.get(activeKey);

  // The interface, in a shadow root so the site's styles neither break nor see it.
  var host = document.createElement("div");
  host.setAttribute("data-hilo-chat", "");
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = document.createElement("style");
  style.textContent =
    ":host{all:initial}*{box-sizing:border-box;font:15px/1.4 system-ui,sans-serif}" +
    ".launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;" +
    "border:0;background:#1d4ed8;color:#fff;cursor:pointer;z-index:2147483000;display:flex;align-items:center;justify-content:center}" +
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}" +
    ".panel{position:fixed;right:20px;bottom:88px;width:min(360px,calc(100vw - 40px));height:min(520px,calc(100vh - 120px));" +
    "display:flex;flex-direction:column;background:#fff;color:#111;border-radius:12px;" +
    "box-shadow:0 8px 32px rgba(0,0,0,.25);z-index:2147483000;overflow:hidden}" +
    ".panel[hidden]{display:none}header{display:flex;justify-content:space-between;align-items:center;" +
    "padding:12px 16px;background:#1d4ed8;color:#fff}h2{margin:0;font-size:16px;font-weight:600}" +
    "header button{background:none;border:0;color:#fff;font-size:20px;cursor:pointer}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}" +
    ".msg{max-width:80%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".in{align-self:flex-end;background:#1d4ed8;color:#fff}.out{align-self:flex-start;background:#eef1f5;color:#111}" +
    ".meta{display:block;font-size:12px;opacity:.8}.note{align-self:center;font-size:13px;color:#444}" +
    "form{display:flex;gap:8px;padding:12px;border-top:1px solid #ddd}" +
    "textarea{flex:1;resize:none;height:44px;padding:10px;border:1px solid #767676;border-radius:8px}" +
    "form button{padding:0 16px;border:0;border-radius:8px;background:#1d4ed8;color:#fff;cursor:pointer}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}";
  root.appendChild(style);

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text; // never HTML: what anyone writes stays text
    return e;
  }
  var launcher = el("button", { "class": "launcher", type: "button", "aria-label": t.open, "aria-expanded": "false" });
  // A speech bubble drawn, not a glyph: not every system has an emoji font.
  var svgNs = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(svgNs, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("width", "28");
  icon.setAttribute("height", "28");
  icon.setAttribute("aria-hidden", "true");
  var bubble = document.createElementNS(svgNs, "path");
  bubble.setAttribute("fill", "currentColor");
  bubble.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  icon.appendChild(bubble);
  launcher.appendChild(icon);
  var panel = el("div", { "class": "panel", role: "dialog", "aria-label": t.title, hidden: "" });
  var header = el("header", {});
  header.appendChild(el("h2", {}, t.title));
  var closer = el("button", { type: "button", "aria-label": t.close }, "×");
  header.appendChild(closer);
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", tabindex: "0" });
  var status = el("p", { "class": "note", role: "status" });
  var form = el("form", {});
  var inputId = "hilo-chat-input";
  form.appendChild(el("label", { "class": "sr", "for": inputId }, t.label));
  var input = el("textarea", { id: inputId, placeholder: t.placeholder, maxlength: "4096" });
  form.appendChild(input);
  form.appendChild(el("button", { type: "submit" }, t.send));
  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(status);
  panel.appendChild(form);
  root.appendChild(launcher);
  root.appendChild(panel);

  function show(m) {
    var item = messages[m.id];
    if (!item) {
      item = el("div", {});
      messages[m.id] = item;
      log.appendChild(item);
    }
    item.className = "msg " + (m.direction === "inbound" ? "in" : "out");
    item.textContent = "";
    item.appendChild(el("span", { "class": "sr" }, (m.direction === "inbound" ? t.you : t.us) + ": "));
    item.appendChild(document.createTextNode(m.content));
    if (m.status === "failed") item.appendChild(el("span", { "class": "meta" }, t.failed));
    log.scrollTop = log.scrollHeight;
    if (open && m.direction === "outbound" && m.status !== "read" && document.visibilityState === "visible") {
      frame({ type: "read", message_id: m.id });
    }
  }

  function frame(f) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(f));
  }

  function connect() {
    ready = false;
    socket = new WebSocket(socketUrl);
    socket.onopen = function () {
      var hello = { type: "hello", anonymous_id: anonymousId() };
      var token = store.get(tokenKey);
      if (token) hello.token = token;
      if (identity.user_id) hello.user_id = String(identity.user_id);
      if (identity.email) hello.email = String(identity.email);
      if (identity.identifier_hash) hello.identifier_hash = String(identity.identifier_hash);
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = function (event) {
      var f;
      try { f = JSON.parse(event.data); } catch (e) { return; }
      if (f.type === "ready") {
        ready = true; retry = 0; status.textContent = "";
        if (f.welcome_message && !messages.welcome) show({ id: "welcome", direction: "outbound", content: f.welcome_message, status: "read" });
        (f.messages || []).forEach(show);
        pending.forEach(function (p) { frame(p); });
      } else if (f.type === "history") {
        (f.messages || []).forEach(show);
      } else if (f.type === "message") {
        if (f.message.direction === "outbound" && status.textContent === t.typing) status.textContent = "";
        show(f.message);
      } else if (f.type === "ack") {
        if (f.token) store.set(tokenKey, f.token);
        hasChat = true;
        store.set(activeKey, "1");
        pending = pending.filter(function (p) { return p.client_id !== f.client_id; });
        var temp = messages["pending:" + f.client_id];
        if (temp) { temp.remove(); delete messages["pending:" + f.client_id]; }
        show(f.message);
      } else if (f.type === "typing") {
        status.textContent = t.typing;
        clearTimeout(typingShown);
        typingShown = setTimeout(function () { if (status.textContent === t.typing) status.textContent = ""; }, 4000);
      } else if (f.type === "error") {
        if (f.code === "identity_not_verified") status.textContent = t.refused;
        else if (f.code === "rate_limited") status.textContent = t.limited;
      }
    };
    socket.onclose = function (event) {
      socket = null;
      if (event.code === 1008) return; // refused: retrying would be refused again
      if (!open && !hasChat) return;   // nothing to keep in sync
      status.textContent = t.offline;
      var wait = Math.min(30000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random());
      setTimeout(connect, wait);
    };
  }

  function setOpen(value) {
    open = value;
    if (open) panel.removeAttribute("hidden"); else panel.setAttribute("hidden", "");
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? t.close : t.open);
    if (open) {
      if (!socket) connect();
      input.focus();
    } else {
      launcher.focus();
    }
  }

  launcher.addEventListener("click", function () { setOpen(!open); });
  closer.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : submit(e); }
  });
  input.addEventListener("input", function () { if (ready) frame({ type: "typing" }); });
  function submit(e) {
    e.preventDefault();
    var content = input.value.trim();
    if (!content) return;
    var clientId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(16).slice(2);
    var f = { type: "message", client_id: clientId, content: content };
    pending.push(f);
    show({ id: "pending:" + clientId, direction: "inbound", content: content, status: "queued" });
    input.value = "";
    if (ready) frame(f); else if (!socket) connect();
  }
  form.addEventListener("submit", submit);

  window.hiloChat = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    // A visitor who signed in: reconnect as them (their chat so far becomes theirs).
    identify: function (who) {
      identity = who || {};
      if (socket) socket.close(1000);
      else if (open || hasChat) connect();
    }
  };

  function mount() {
    document.body.appendChild(host);
    if (hasChat) connect(); // replies sent while away arrive now
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
