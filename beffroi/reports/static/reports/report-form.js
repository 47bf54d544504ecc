/* The report form, improved when scripts run: a map to place the pin, "use my
   position", and the open reports of the same category nearby ("déjà signalé ?").
   Without scripts (or if the map cannot load) the address field is enough. */
(function () {
  "use strict";
  const form = document.getElementById("report-form");
  if (!form) return;
  const mapElement = document.getElementById("report-map");
  const latitude = form.querySelector("input[name=latitude]");
  const longitude = form.querySelector("input[name=longitude]");
  const category = form.querySelector("select[name=category]");
  const nearby = document.getElementById("nearby");
  const status = document.getElementById("position-status");
  let marker = null;
  let map = null;

  function place(lat, lon) {
    latitude.value = lat.toFixed(6);
    longitude.value = lon.toFixed(6);
    if (map) {
      if (marker) marker.setLatLng([lat, lon]);
      else marker = L.marker([lat, lon], {
        draggable: true, keyboard: false, title: "Lieu du problème",
        icon: L.divIcon({className: "map-pin map-pin--here", iconSize: [26, 26], iconAnchor: [13, 13]}),
      }).addTo(map).on("dragend", (event) => { const p = event.target.getLatLng(); place(p.lat, p.lng); });
    }
    lookNearby();
  }

  function text(tag, content) {
    const node = document.createElement(tag);
    node.textContent = content;
    return node;
  }

  function lookNearby() {
    nearby.replaceChildren();
    if (!category.value || !latitude.value) return;
    const url = form.dataset.nearbyUrl + "?categorie=" + encodeURIComponent(category.value) +
      "&lat=" + encodeURIComponent(latitude.value) + "&lon=" + encodeURIComponent(longitude.value);
    fetch(url).then((response) => response.ok ? response.json() : {reports: []}).then((data) => {
      if (!data.reports.length) return;
      const box = document.createElement("section");
      box.className = "nearby__box";
      box.setAttribute("aria-labelledby", "nearby-title");
      const title = text("h2", "Déjà signalé ?");
      title.id = "nearby-title";
      box.append(title, text("p", "Des signalements de la même catégorie sont ouverts tout près. Si c’est le même problème, suivez-le plutôt que de le signaler à nouveau."));
      const list = document.createElement("ul");
      for (const report of data.reports) {
        const item = document.createElement("li");
        item.append(text("span", report.category + " — " + report.status_label + ", à " + report.distance_m + " m. "));
        const follow = document.createElement("form");
        follow.method = "post";
        follow.action = report.follow_url;
        follow.className = "inline-form";
        const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").cloneNode();
        const button = text("button", "Suivre ce signalement (" + report.code + ")");
        button.type = "submit";
        button.className = "button";
        follow.append(csrf, button);
        item.append(follow);
        list.append(item);
      }
      box.append(list);
      nearby.append(box);
    }).catch(() => {});
  }

  category.addEventListener("change", lookNearby);

  // Only the chosen category's questions are shown (and sent); without
  // scripts, each category's questions show under its name.
  const questionSets = form.querySelectorAll("fieldset.questions[data-category]");
  function showQuestions() {
    for (const set of questionSets) {
      const chosen = set.dataset.category === category.value;
      set.hidden = !chosen;
      set.disabled = !chosen;
      set.querySelector(".questions__when").hidden = true;
    }
  }
  category.addEventListener("change", showQuestions);
  showQuestions();

  const actions = document.getElementById("map-actions");
  if (window.L && mapElement) {
    try {
      map = window.beffroiMap(mapElement, 15);
      document.getElementById("map-help").hidden = false;
      map.on("click", (event) => {
        place(event.latlng.lat, event.latlng.lng);
        status.textContent = "Repère placé.";
      });
      if (latitude.value && longitude.value) {
        place(parseFloat(latitude.value), parseFloat(longitude.value));
        map.setView([parseFloat(latitude.value), parseFloat(longitude.value)], 17);
      }
      // Keyboard users move the map with the arrows, then place the pin at its centre.
      const centre = document.getElementById("pin-centre");
      centre.hidden = actions.hidden = false;
      centre.addEventListener("click", () => {
        const point = map.getCenter();
        place(point.lat, point.lng);
        status.textContent = "Repère placé au centre de la carte.";
      });
    } catch (error) {
      mapElement.hidden = true;  // the address field remains
      map = null;
    }
  }
  if ("geolocation" in navigator) {
    const button = document.getElementById("use-position");
    button.hidden = actions.hidden = false;
    button.addEventListener("click", () => {
      status.textContent = "Recherche de votre position…";
      navigator.geolocation.getCurrentPosition((position) => {
        status.textContent = "Position trouvée (précision : " + Math.round(position.coords.accuracy) + " m) ; repère placé.";
        place(position.coords.latitude, position.coords.longitude);
        if (map) map.setView([position.coords.latitude, position.coords.longitude], 17);
      }, () => { status.textContent = "Position indisponible : placez le repère sur la carte ou indiquez une adresse."; },
      {enableHighAccuracy: true, timeout: 15000});
    });
  }
})();
