/* Agents' console: new reports appear at once (SSE) with a visible cue (the
   row highlighted and marked, an assertive announcement, a count in the tab's
   title while it is hidden) and, if asked, an audible one; changes update
   their row. Without scripts the queue is an ordinary page. */
(function () {
  "use strict";
  const live = document.getElementById("console-live");
  const table = document.getElementById("queue");
  if (!live || !table || !("EventSource" in window)) return;
  const body = table.tBodies[0];
  const status = document.getElementById("console-status");
  const announce = document.getElementById("console-announce");
  const soundButton = document.getElementById("console-sound");
  const insertNew = live.dataset.liveInsert === "true";
  const title = document.title;
  let since = live.dataset.since || "";
  let unseen = 0;
  let audio = null;
  let retryDelay = 2000;

  soundButton.hidden = false;
  soundButton.addEventListener("click", () => {
    const on = soundButton.getAttribute("aria-pressed") !== "true";
    soundButton.setAttribute("aria-pressed", String(on));
    if (on && !audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    beep();  // so that the agent hears what to expect
  });

  function beep() {
    if (!audio || soundButton.getAttribute("aria-pressed") !== "true") return;
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.4);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function cell(...contents) {
    const td = document.createElement("td");
    td.append(...contents);
    return td;
  }

  // The same cells as the server renders (console_queue.html).
  function row(report, isNew) {
    const tr = document.createElement("tr");
    tr.dataset.code = report.code;
    if (report.overdue) tr.classList.add("overdue");
    const link = element("a", null, report.code);
    link.href = report.url;
    const code = cell(link);
    if (isNew) {
      tr.classList.add("queue__new");
      code.append(" ", element("span", "tag tag--new", "vient d’arriver"));
    }
    const service = cell(report.service || "—");
    if (report.assignee) service.append(document.createElement("br"), element("span", "help", report.assignee));
    const due = cell(report.due_label || "—");
    if (report.overdue) due.prepend(element("strong", "overdue__label", "En retard"), document.createElement("br"));
    tr.append(
      code, cell(report.category), cell(report.address || report.sector || "Position sur la carte"), service,
      cell(element("span", "status status--" + report.status, report.status_label)),
      cell(report.created_label || ""), due,
    );
    return tr;
  }

  function find(code) {
    return body.querySelector('tr[data-code="' + CSS.escape(code) + '"]');
  }

  function remember(event) {
    if (event.lastEventId) since = event.lastEventId;
  }

  function onNew(event) {
    remember(event);
    const report = JSON.parse(event.data).report;
    const existing = find(report.code);
    if (existing) {  // already listed (an event replayed after a reconnection)
      existing.replaceWith(row(report, existing.classList.contains("queue__new")));
      return;
    }
    let text = "Nouveau signalement " + report.code + " : " + report.category + ".";
    if (insertNew) {
      const empty = body.querySelector(".queue__empty");
      if (empty) empty.remove();
      body.prepend(row(report, true));
    } else {
      text += " Il n’est pas dans cette liste filtrée : retirez les filtres pour le voir.";
    }
    announce.textContent = text;
    if (document.hidden) {
      unseen += 1;
      document.title = "(" + unseen + ") " + title;
    }
    beep();
  }

  function onChanged(event) {
    remember(event);
    const report = JSON.parse(event.data).report;
    const existing = find(report.code);
    if (existing) existing.replaceWith(row(report, existing.classList.contains("queue__new")));
  }

  function onRemoved(event) {
    remember(event);
    const gone = find(JSON.parse(event.data).report.code);
    if (gone) gone.remove();
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      unseen = 0;
      document.title = title;
    }
  });

  function connect() {
    status.textContent = "Connexion au direct…";
    const source = new EventSource("/flux/gestion" + (since ? "?since=" + encodeURIComponent(since) : ""));
    source.addEventListener("open", () => {
      status.textContent = "En direct : les nouveaux signalements s’affichent dès leur dépôt.";
      retryDelay = 2000;
    });
    source.addEventListener("report.new", onNew);
    source.addEventListener("report.changed", onChanged);
    source.addEventListener("report.removed", onRemoved);
    source.addEventListener("reset", () => {
      status.textContent = "Trop de changements pendant la coupure : rechargez la page pour voir la liste à jour.";
    });
    source.addEventListener("error", () => {
      status.textContent = "Direct interrompu : reconnexion…";
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retryDelay + Math.random() * 1000);
        retryDelay = Math.min(retryDelay * 2, 60000);
      }
    });
  }
  connect();

  const pushButton = document.getElementById("console-push");
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return;
  pushButton.hidden = false;
  pushButton.addEventListener("click", () => {
    Notification.requestPermission().then((permission) => {
      if (permission !== "granted") throw new Error("refusé");
      return Promise.all([navigator.serviceWorker.register("/sw.js").then(() => navigator.serviceWorker.ready),
        fetch("/api/v1/push/key").then((r) => r.json())]);
    }).then(([registration, key]) => registration.pushManager.getSubscription().then((existing) => existing ||
      registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: urlBase64(key.public_key)})))
      .then((subscription) => fetch(live.dataset.pushUrl, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
        body: JSON.stringify(subscription.toJSON()),
      })).then((response) => { status.textContent = response.ok ? "Cet appareil recevra les nouveaux signalements." : "Abonnement refusé."; })
      .catch(() => { status.textContent = "Notifications indisponibles sur cet appareil."; });
  });

  function csrfToken() {
    const input = live.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function urlBase64(text) {
    const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }
})();
