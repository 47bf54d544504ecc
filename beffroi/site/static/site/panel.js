/* Information panel: rotates its pages, current alerts always on top, live
   over SSE; keeps its last content (also across reloads) and reconnects by
   itself when the network or the server goes away. */
(function () {
  "use strict";
  var body = document.body;
  var slug = body.dataset.slug;
  var since = body.dataset.liveSince || "";
  var alertsBox = document.getElementById("panel-alerts");
  var slidesBox = document.getElementById("panel-slides");
  var statusBox = document.getElementById("panel-status");
  var clock = document.getElementById("panel-clock");
  var storageKey = "beffroi-panel-" + slug;
  var content = JSON.parse(document.getElementById("panel-data").textContent);
  var current = 0;
  var retryDelay = 2000;
  var refreshTimer = null;
  var TIME = new Intl.DateTimeFormat("fr-FR", {hour: "2-digit", minute: "2-digit"});
  var DAY = new Intl.DateTimeFormat("fr-FR", {weekday: "long", day: "numeric", month: "long"});

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function when(item) {
    if (!item.starts_at) return "";
    var start = new Date(item.starts_at);
    return DAY.format(start) + " à " + TIME.format(start);
  }

  function render() {
    alertsBox.replaceChildren.apply(alertsBox, content.alerts.map(function (alert) {
      var section = element("section", "panel-alert panel-alert--" + (alert.level || "info"));
      // The level in words, not only in colour.
      section.appendChild(element("p", "panel-alert__level", alert.level_label || "Alerte"));
      section.appendChild(element("h2", null, alert.title));
      if (alert.summary) section.appendChild(element("p", null, alert.summary));
      return section;
    }));
    var items = content.items.length ? content.items : [{kind_label: "", title: "Bienvenue à " + content.commune}];
    slidesBox.replaceChildren.apply(slidesBox, items.map(function (item) {
      var section = element("section", "slide");
      if (item.kind_label) section.appendChild(element("p", "slide__kind", item.kind_label));
      section.appendChild(element("h2", null, item.title));
      if (item.summary) section.appendChild(element("p", null, item.summary));
      var detail = [when(item), item.place].filter(Boolean).join(" — ");
      if (detail) section.appendChild(element("p", "slide__place", detail));
      return section;
    }));
    current = current % slidesBox.children.length;
    slidesBox.children[current].classList.add("slide--current");
  }

  function rotate() {
    var slides = slidesBox.children;
    if (slides.length > 1) {
      slides[current].classList.remove("slide--current");
      current = (current + 1) % slides.length;
      slides[current].classList.add("slide--current");
    }
    setTimeout(rotate, (content.slide_seconds || 12) * 1000);
  }

  function tick() {
    clock.textContent = DAY.format(new Date()) + " — " + TIME.format(new Date());
  }

  function setStatus(text) { statusBox.textContent = text; }

  function refresh() {
    clearTimeout(refreshTimer);
    return fetch("/api/v1/panels/" + encodeURIComponent(slug), {cache: "no-store"})
      .then(function (response) { if (!response.ok) throw new Error(String(response.status)); return response.json(); })
      .then(function (fresh) {
        content = fresh;
        try { localStorage.setItem(storageKey, JSON.stringify(fresh)); } catch (error) { /* storage full or disabled */ }
        render();
        setStatus("");
      })
      .catch(function () { setStatus("Hors connexion : dernières informations connues."); })
      .then(function () { refreshTimer = setTimeout(refresh, 5 * 60 * 1000); });
  }

  function connect() {
    var source = new EventSource("/flux/public" + (since ? "?since=" + encodeURIComponent(since) : ""));
    function changed(event) {
      if (event.lastEventId) since = event.lastEventId;
      refresh();
    }
    ["post.published", "post.updated", "post.removed", "site.changed", "reset"].forEach(function (type) {
      source.addEventListener(type, changed);
    });
    source.addEventListener("open", function () {
      if (retryDelay > 2000) refresh();  // back after an outage: catch up
      retryDelay = 2000;
      setStatus("");
    });
    source.addEventListener("error", function () {
      setStatus("Connexion perdue : nouvelle tentative en cours…");
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60000);
      } else {
        retryDelay = Math.min(retryDelay * 2, 60000);
      }
    });
  }

  try {
    var saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved && !navigator.onLine) content = saved;
  } catch (error) { /* ignore unreadable storage */ }
  render();
  tick();
  setInterval(tick, 15000);
  setTimeout(rotate, (content.slide_seconds || 12) * 1000);
  refreshTimer = setTimeout(refresh, 5 * 60 * 1000);
  connect();
})();
