/* Public list of reports: the same reports on a map (what is public only). */
(function () {
  "use strict";
  const element = document.getElementById("public-map");
  if (!element || !window.L) return;
  const map = window.beffroiMap(element, 14);

  function text(tag, content) {
    const node = document.createElement(tag);
    node.textContent = content;
    return node;
  }

  fetch(element.dataset.url).then((r) => r.json()).then((data) => {
    for (const report of data.reports) {
      if (report.latitude === null) continue;
      const label = report.category + " — " + report.status_label;
      const popup = document.createElement("div");
      const link = text("a", report.category);
      link.href = report.url;
      const title = document.createElement("p");
      title.append(link);
      popup.append(title, text("p", report.status_label));
      if (report.text) popup.append(text("p", report.text));
      window.beffroiPin(report, label).addTo(map).bindPopup(popup);
    }
  }).catch(() => { element.hidden = true; });
})();
