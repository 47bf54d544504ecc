/* The console's map: the received reports, as filtered, one pin each. The
   list under the map holds the same reports, for whom the map does not help. */
(function () {
  "use strict";
  const element = document.getElementById("console-map");
  if (!element || !window.L) return;
  const map = window.beffroiMap(element, 14);
  const status = document.getElementById("console-map-status");

  function text(tag, content) {
    const node = document.createElement(tag);
    node.textContent = content;
    return node;
  }

  fetch(element.dataset.url + window.location.search, {credentials: "same-origin"})
    .then((response) => { if (!response.ok) throw new Error(response.status); return response.json(); })
    .then((data) => {
      const bounds = [];
      for (const report of data.reports) {
        const late = report.overdue ? ", en retard" : "";
        const label = report.code + " — " + report.category + " — " + report.status_label + late;
        const popup = document.createElement("div");
        const link = text("a", report.code);
        link.href = report.url;
        const title = document.createElement("p");
        title.append(link);
        popup.append(title, text("p", report.category), text("p", report.status_label + late));
        if (report.address) popup.append(text("p", report.address));
        window.beffroiPin(report, label).addTo(map).bindPopup(popup);
        bounds.push([report.latitude, report.longitude]);
      }
      if (bounds.length) map.fitBounds(bounds, {padding: [30, 30], maxZoom: 17});
      status.textContent = bounds.length
        ? bounds.length + " signalement" + (bounds.length > 1 ? "s" : "") + " sur la carte."
        : "Aucun signalement à placer sur la carte.";
    })
    .catch(() => { status.textContent = "La carte n’a pas pu charger les signalements : la liste ci-dessous les donne."; });
})();
