// Hilo console: live updates. Pages are complete without this script; with it, a part of
// the page that names its own address in `data-live` is fetched again from the server
// whenever a live event concerns it, so what is shown stays rendered (and escaped) by
// the server.
(function () {
  "use strict";

  var parts = document.querySelectorAll("[data-live]");
  if (!parts.length || !window.EventSource) {
    return;
  }
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
            document.dispatchEvent(new CustomEvent("hilo:updated", { detail: { id: fresh.id } }));
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

  var refreshers = Array.prototype.map.call(parts, refresher);
  function refreshAll() {
    refreshers.forEach(function (run) { run(); });
  }

  function onEvent(event) {
    var data = {};
    try {
      data = JSON.parse(event.data);
    } catch (ignored) {
      return;
    }
    if (conversation && conversationOf(data) !== conversation) {
      return;
    }
    refreshAll();
  }

  var source = new EventSource("/api/v1/live");
  ["message.created", "message.updated", "conversation.updated"].forEach(function (kind) {
    source.addEventListener(kind, onEvent);
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
})();
