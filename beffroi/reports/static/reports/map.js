/* A Leaflet map configured by its element's data attributes (tiles, centre),
   with its controls in French. Shared by the report form, the public list and
   the console's map. Also: a report's pin, coloured by status (beffroi.css),
   whose status is in its title and popup too, never in its colour alone. */
window.beffroiMap = function (element, zoom) {
  "use strict";
  if (!element || !window.L) return null;
  element.hidden = false;
  const map = L.map(element, {scrollWheelZoom: false, zoomControl: false}).setView(
    [parseFloat(element.dataset.lat), parseFloat(element.dataset.lon)], zoom || 14
  );
  L.control.zoom({zoomInTitle: "Zoomer", zoomOutTitle: "Dézoomer"}).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com/">Leaflet</a>');
  L.tileLayer(element.dataset.tiles, {maxZoom: 19, attribution: element.dataset.attribution}).addTo(map);
  map.on("popupopen", (event) => {
    const close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) close.setAttribute("aria-label", "Fermer");
  });
  return map;
};

window.beffroiPin = function (report, label) {
  "use strict";
  const overdue = report.overdue ? " map-pin--overdue" : "";
  return L.marker([report.latitude, report.longitude], {
    title: label,
    keyboard: true,
    icon: L.divIcon({className: "map-pin map-pin--" + report.status + overdue, iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -11]}),
  });
};
