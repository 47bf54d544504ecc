/* Public list of reports: the same reports on a map (what is public only). */
(function () {
  "use strict";
  const element = document.getElementById("public-map");
  if (!element || !window.L) return;
  const map = window.beffroiMap(element, 14);
  fetch(element.dataset.url).then((r) => r.json()).then((data) => {
    for (const report of data.reports) {
      if (report.latitude === null) continue;
      const label = report.category + " — " + report.status_label + (report.text ? " : " + report.text : "");
      L.marker([report.latitude, report.longitude], {title: label, alt: label}).addTo(map).bindPopup(document.createTextNode(label));
    }
  }).catch(() => { element.hidden = true; });
})();
