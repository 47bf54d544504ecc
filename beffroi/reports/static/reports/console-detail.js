/* A report's page in the console: if someone else changes it meanwhile, say so
   (the page is not reloaded under the agent's hands, who may be typing). */
(function () {
  "use strict";
  const box = document.getElementById("report-live");
  if (!box || !("EventSource" in window)) return;
  let since = box.dataset.since || "";
  let retryDelay = 2000;

  function onEvent(event) {
    if (event.lastEventId) since = event.lastEventId;
    const report = JSON.parse(event.data).report;
    if (report.code !== box.dataset.code) return;
    const link = document.createElement("a");
    link.href = window.location.pathname;
    link.textContent = "Recharger la page";
    box.replaceChildren(
      (event.type === "report.removed" ? "Ce signalement vient d’être transféré à une autre organisation. "
        : "Ce signalement vient d’être modifié (état : " + report.status_label + "). "), link,
    );
  }

  function connect() {
    const source = new EventSource("/flux/gestion" + (since ? "?since=" + encodeURIComponent(since) : ""));
    for (const type of ["report.new", "report.changed", "report.removed"]) source.addEventListener(type, onEvent);
    source.addEventListener("open", () => { retryDelay = 2000; });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retryDelay + Math.random() * 1000);
        retryDelay = Math.min(retryDelay * 2, 60000);
      }
    });
  }
  connect();
})();
