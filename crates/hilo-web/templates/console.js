// Hilo console: live updates, the incoming call pop-up and keyboard shortcuts. Pages are
// complete without this script. With it, a part of the page that names its own address
// in `data-live` is fetched again from the server whenever a live event concerns it, so
// what is shown stays rendered (and escaped) by the server; what this script writes
// itself goes in as text, never as markup.
(function () {
  "use strict";

  var body = document.body;
  var page = document.querySelector("[data-conversation]");
  var conversation = page ? page.getAttribute("data-conversation") : null;

  // The conversation an event is about, if any.
  function conversationOf(data) {
    if (data.conversation_id) {
      return data.conversation_id;
    }
    if (data.conversation && data.conversation.id) {
      return data.conversation.id;
    }
    return null;
  }

  // One fetch at a time per part; an event during a fetch asks for one more after it.
  function refresher(element) {
    var busy = false;
    var again = false;
    function run() {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      var address = element.getAttribute("data-live");
      var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
      fetch(address, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.firstElementChild;
          if (fresh && fresh.id === element.id) {
            element.replaceWith(fresh);
            element = fresh;
            if (conversation && atBottom) {
              window.scrollTo(0, document.body.scrollHeight);
            }
          }
        })
        .catch(function () {})
        .then(function () {
          busy = false;
          if (again) {
            again = false;
            run();
          }
        });
    }
    return run;
  }

  var refreshers = Array.prototype.map.call(document.querySelectorAll("[data-live]"), refresher);
  function refreshAll() {
    refreshers.forEach(function (run) { run(); });
  }

  function parse(event) {
    try {
      return JSON.parse(event.data);
    } catch (ignored) {
      return null;
    }
  }

  function onChange(event) {
    var data = parse(event);
    if (!data || (conversation && conversationOf(data) !== conversation)) {
      return;
    }
    refreshAll();
  }

  // S1: a call coming in shows who is calling and their conversation, on any page.
  function link(text, href) {
    var a = document.createElement("a");
    a.textContent = text;
    a.href = href;
    return a;
  }

  function dismissCall() {
    var shown = document.getElementById("incoming-call");
    if (shown) {
      shown.remove();
    }
  }

  function onCall(event) {
    var data = parse(event);
    if (!data || !data.conversation_id) {
      return;
    }
    dismissCall();
    var customer = data.customer || {};
    var who = customer.name || (data.call && data.call.from) || "";
    var box = document.createElement("section");
    box.id = "incoming-call";
    box.className = "call-popup";
    box.setAttribute("data-conversation", data.conversation_id);
    box.setAttribute("role", "alert");
    var title = document.createElement("h2");
    title.textContent = body.getAttribute("data-call-title") + (who ? ": " + who : "");
    box.appendChild(title);
    var actions = document.createElement("p");
    actions.appendChild(link(body.getAttribute("data-call-open"), "/console/conversations/" + encodeURIComponent(data.conversation_id)));
    if (data.customer_id) {
      actions.appendChild(document.createTextNode(" · "));
      actions.appendChild(link(body.getAttribute("data-call-customer"), "/console/customers/" + encodeURIComponent(data.customer_id)));
    }
    actions.appendChild(document.createTextNode(" "));
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.textContent = body.getAttribute("data-call-dismiss");
    close.addEventListener("click", dismissCall);
    actions.appendChild(close);
    box.appendChild(actions);
    document.body.appendChild(box);
    box.querySelector("a").focus();
  }

  // Live events. A browser opens at most six connections to one server over HTTP/1.1,
  // and each stream holds one: with a stream per tab, the seventh console tab would
  // wait. So the tabs of one browser share one stream: the tab holding the "hilo-live"
  // lock reads it and passes each event on over a BroadcastChannel; when that tab
  // goes, another takes the lock and opens the stream again. (Without locks — an
  // address that is neither HTTPS nor this machine — each tab reads its own.)
  var handlers = {
    "message.created": onChange,
    "message.updated": onChange,
    "conversation.updated": onChange,
    "call.started": onCall,
    "call.ended": function (event) {
      var data = parse(event);
      var shown = document.getElementById("incoming-call");
      if (data && shown && shown.getAttribute("data-conversation") === data.conversation_id) {
        dismissCall();
      }
    },
    // Events were missed: read everything again.
    "lagged": refreshAll,
    // The stream opened; after the first time (a reconnection, or this tab taking
    // over from one that closed), events may have been missed.
    "open": function () {
      if (liveBefore) {
        refreshAll();
      }
      liveBefore = true;
      document.documentElement.setAttribute("data-live-connected", "true");
    },
    // Another tab's stream was open already when this one joined.
    "connected": function () {
      if (!liveBefore) {
        liveBefore = true;
        document.documentElement.setAttribute("data-live-connected", "true");
      }
    }
  };
  var liveBefore = false;
  var kinds = Object.keys(handlers);
  function deliver(kind, data) {
    if (handlers[kind]) {
      handlers[kind]({ data: data });
    }
  }

  function readStream(channel) {
    return new Promise(function (release) {
      var source = new EventSource("/api/v1/live");
      kinds.forEach(function (kind) {
        source.addEventListener(kind, function (event) {
          deliver(kind, event.data);
          if (channel) {
            channel.postMessage({ kind: kind, data: event.data });
          }
        });
      });
      // A page left (or kept for the back button) lets the stream and the lock go.
      window.addEventListener("pagehide", function () {
        source.close();
        release();
      });
    });
  }

  if (body.getAttribute("data-live-events") === "on" && window.EventSource) {
    var channel = window.BroadcastChannel ? new BroadcastChannel("hilo-live") : null;
    if (channel && navigator.locks) {
      var leading = false;
      channel.onmessage = function (message) {
        var kind = message.data && message.data.kind;
        if (kind === "hello") {
          // A new tab: tell it whether the stream is open.
          if (leading && liveBefore) {
            channel.postMessage({ kind: "connected", data: "" });
          }
        } else if (!leading) {
          deliver(kind, message.data.data);
        }
      };
      navigator.locks.request("hilo-live", function () {
        leading = true;
        return readStream(channel);
      });
      channel.postMessage({ kind: "hello" });
      window.addEventListener("pagehide", function () { channel.close(); });
    } else {
      readStream(null);
    }
  }
  // Back from the back-forward cache: its stream was closed when it was left.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && body.getAttribute("data-live-events") === "on") {
      window.location.reload();
    }
  });

  // Canned replies: "/" and a shortcut in the reply box, then Tab, puts the reply's
  // text in its place; the list under the box narrows as the shortcut is typed, and a
  // click on one does the same.
  var reply = document.querySelector("#composer textarea");
  var cannedList = document.getElementById("canned-list");
  if (reply && cannedList) {
    var buttons = Array.prototype.slice.call(cannedList.querySelectorAll("[data-canned]"));
    var typedShortcut = function () {
      var match = /^\/(\S*)$/.exec(reply.value);
      return match ? match[1].toLowerCase() : null;
    };
    var use = function (button) {
      reply.value = button.getAttribute("data-canned");
      buttons.forEach(function (b) { b.parentNode.hidden = false; });
      reply.focus();
    };
    buttons.forEach(function (button) {
      button.addEventListener("click", function () { use(button); });
    });
    reply.addEventListener("input", function () {
      var typed = typedShortcut();
      if (typed === null) {
        return;
      }
      cannedList.parentNode.open = true;
      buttons.forEach(function (b) {
        b.parentNode.hidden = b.textContent.slice(1).indexOf(typed) !== 0;
      });
    });
    reply.addEventListener("keydown", function (event) {
      var typed = typedShortcut();
      if (event.key !== "Tab" || typed === null) {
        return;
      }
      var found = buttons.filter(function (b) { return b.textContent.slice(1).indexOf(typed) === 0; });
      if (found.length) {
        event.preventDefault();
        use(found[0]);
      }
    });
  }

  // Keyboard shortcuts, outside text fields: g i, g c, /, r, j, k, Esc.
  var pending = null;
  function typing(target) {
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }
  function moveInList(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll("#inbox-list a, .conversations a"));
    if (!links.length) {
      return;
    }
    var at = links.indexOf(document.activeElement);
    var next = at < 0 ? 0 : Math.min(links.length - 1, Math.max(0, at + step));
    links[next].focus();
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      dismissCall();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    if (pending === "g") {
      pending = null;
      if (event.key === "i") {
        window.location.href = "/console/inbox";
      } else if (event.key === "c") {
        window.location.href = "/console/customers";
      }
      return;
    }
    var field;
    switch (event.key) {
      case "g":
        pending = "g";
        return;
      case "/":
        field = document.querySelector("form[role=search] input, form[role=search] select");
        break;
      case "r":
        field = document.querySelector("#composer textarea");
        break;
      case "j":
        moveInList(1);
        event.preventDefault();
        return;
      case "k":
        moveInList(-1);
        event.preventDefault();
        return;
      default:
        return;
    }
    if (field) {
      event.preventDefault();
      field.focus();
    }
  });
})();
