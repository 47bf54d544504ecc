/* Agents' console: new reports appear at once (SSE), with a visible and, if
   asked, audible cue; changes update their row. */
(function () {
  "use strict";
  const live = document.getElementById("console-live");
  const table = document.getElementById("queue");
  if (!live || !table) return;
  const body = table.tBodies[0];
  const status = document.getElementById("console-status");
  const announce = document.getElementById("console-announce");
  const soundButton = document.getElementById("console-sound");
  let audio = null;
  let retryDelay = 2000;

  soundButton.addEventListener("click", () => {
    const on = soundButton.getAttribute("aria-pressed") !== "true";
    soundButton.setAttribute("aria-pressed", String(on));
    soundButton.textContent = on ? "Couper le signal sonore" : "Activer le signal sonore";
    if (on && !audio) audio = new (window.AudioContext || window.webkitAudioContext)();
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

  function cell(content) {
    const td = document.createElement("td");
    if (content instanceof Node) td.append(content);
    else td.textContent = content || "—";
    return td;
  }

  function row(report) {
    const tr = document.createElement("tr");
    tr.dataset.code = report.code;
    if (report.overdue) tr.className = "overdue";
    const link = document.createElement("a");
    link.href = report.url;
    link.textContent = report.code;
    const badge = document.createElement("span");
    badge.className = "status status--" + report.status;
    badge.textContent = report.status_label;
    tr.append(
      cell(link), cell(report.category), cell(report.address || report.sector || "Sur la carte"),
      cell(report.service + (report.assignee ? " — " + report.assignee : "")), cell(badge),
      cell((report.created_at || "").slice(0, 16).replace("T", " ")), cell((report.due_at || "").slice(0, 10)),
    );
    return tr;
  }

  function upsert(report, isNew) {
    const existing = body.querySelector('tr[data-code="' + report.code + '"]');
    const fresh = row(report);
    if (isNew) fresh.classList.add("queue__new");
    if (existing) existing.replaceWith(fresh);
    else {
      const empty = body.querySelector(".queue__empty");
      if (empty) empty.remove();
      body.prepend(fresh);
    }
  }

  function connect() {
    const source = new EventSource("/flux/gestion");
    source.addEventListener("open", () => { status.textContent = "En direct : les nouveaux signalements s’affichent dès leur dépôt."; retryDelay = 2000; });
    source.addEventListener("report.new", (event) => {
      const report = JSON.parse(event.data).report;
      upsert(report, true);
      announce.textContent = "Nouveau signalement " + report.code + " : " + report.category + ".";
      beep();
    });
    source.addEventListener("report.changed", (event) => upsert(JSON.parse(event.data).report, false));
    source.addEventListener("report.removed", (event) => {
      const gone = body.querySelector('tr[data-code="' + JSON.parse(event.data).report.code + '"]');
      if (gone) gone.remove();
    });
    source.addEventListener("error", () => {
      status.textContent = "Direct interrompu : reconnexion…";
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retryDelay);
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
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function urlBase64(text) {
    const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }
})();
