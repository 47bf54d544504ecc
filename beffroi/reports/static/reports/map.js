/* A Leaflet map configured by its element's data attributes (tiles, centre).
   Shared by the report form, the public list and the console. */
window.beffroiMap = function (element, zoom) {
  "use strict";
  if (!element || !window.L) return null;
  element.hidden = false;
  const map = L.map(element, {scrollWheelZoom: false}).setView(
    [parseFloat(element.dataset.lat), parseFloat(element.dataset.lon)], zoom || 14
  );
  L.tileLayer(element.dataset.tiles, {maxZoom: 19, attribution: element.dataset.attribution}).addTo(map);
  return map;
};
