/* Follow-up page: the timeline updates live (SSE), and push for this report only. */
(function () {
  "use strict";
  const page = document.getElementById("follow");
  if (!page) return;
  const timeline = document.getElementById("timeline");
  const live = document.getElementById("follow-live");
  let since = page.dataset.since || "";
  let retryDelay = 2000;

  function reloadTimeline() {
    fetch(page.dataset.timelineUrl, {cache: "no-store"}).then((response) => response.ok ? response.text() : null)
      .then((html) => {
        if (html === null) return;
        const fragment = document.createRange().createContextualFragment(html);
        timeline.replaceChildren(fragment);
      }).catch(() => {});
  }

  function now() {
    return new Intl.DateTimeFormat("fr-FR", {hour: "2-digit", minute: "2-digit"}).format(new Date()).replace(":", " h ");
  }

  function onChanged(event) {
    if (event.lastEventId) since = event.lastEventId;
    const data = JSON.parse(event.data);
    const status = document.getElementById("report-status");
    if (status && data.status && status.textContent !== data.status_label) {
      status.textContent = data.status_label;
      status.className = "status status--" + data.status;
      live.textContent = "À " + now() + ", le signalement est passé à l’état : " + data.status_label + ".";
    } else {
      live.textContent = "À " + now() + ", le suivi s’est enrichi d’une nouvelle étape.";
    }
    reloadTimeline();
  }

  function connect() {
    if (!("EventSource" in window)) return;
    let url = "/flux/signalement?jeton=" + encodeURIComponent(page.dataset.token);
    if (since) url += "&since=" + encodeURIComponent(since);
    const source = new EventSource(url);
    source.addEventListener("report.changed", onChanged);
    source.addEventListener("reset", reloadTimeline);
    source.addEventListener("open", () => { retryDelay = 2000; });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retryDelay + Math.random() * 1000);
        retryDelay = Math.min(retryDelay * 2, 60000);
      }
    });
  }
  connect();

  // The secret link, copied in one gesture (the page shows it just after the report is sent).
  const copy = document.getElementById("copy-link");
  if (copy && navigator.clipboard) {
    document.getElementById("copy-actions").hidden = false;
    copy.addEventListener("click", () => {
      const say = (text) => { document.getElementById("copy-status").textContent = text; };
      navigator.clipboard.writeText(document.getElementById("follow-link").href)
        .then(() => say("Lien copié."), () => say("Copie impossible : sélectionnez le lien à la main."));
    });
  }

  const pushBox = document.getElementById("follow-push");
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return;
  pushBox.hidden = false;
  const say = (text) => { document.getElementById("follow-push-status").textContent = text; };
  document.getElementById("follow-push-button").addEventListener("click", () => {
    Notification.requestPermission().then((permission) => {
      if (permission !== "granted") throw new Error("notifications refusées dans le navigateur");
      return Promise.all([navigator.serviceWorker.ready, fetch("/api/v1/push/key").then((r) => r.json())]);
    }).then(([registration, key]) => registration.pushManager.getSubscription().then((existing) => existing ||
      registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: urlBase64(key.public_key)})))
      .then((subscription) => fetch(page.dataset.pushUrl, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
        body: JSON.stringify(subscription.toJSON()),
      })).then((response) => {
        if (!response.ok) throw new Error("le serveur a refusé l’abonnement");
        say("C’est fait : vous serez prévenu des étapes de ce signalement.");
      }).catch((error) => say("Impossible d’activer les notifications : " + error.message));
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
