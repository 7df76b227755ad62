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

  if (body.getAttribute("data-live-events") === "on" && window.EventSource) {
    var source = new EventSource("/api/v1/live");
    ["message.created", "message.updated", "conversation.updated"].forEach(function (kind) {
      source.addEventListener(kind, onChange);
    });
    source.addEventListener("call.started", onCall);
    source.addEventListener("call.ended", function (event) {
      var data = parse(event);
      var shown = document.getElementById("incoming-call");
      if (data && shown && shown.getAttribute("data-conversation") === data.conversation_id) {
        dismissCall();
      }
    });
    // Events were missed, or the connection came back: read everything again.
    source.addEventListener("lagged", refreshAll);
    var opened = false;
    source.addEventListener("open", function () {
      if (opened) {
        refreshAll();
      }
      opened = true;
      document.documentElement.setAttribute("data-live-connected", "true");
    });
  }

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
