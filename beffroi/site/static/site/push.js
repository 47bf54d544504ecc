/* Choosing notifications: subscribe this browser with Web Push (no account). */
(function () {
  "use strict";
  var form = document.getElementById("push-form");
  var unsupported = document.getElementById("push-unsupported");
  var status = document.getElementById("push-status");
  var unsubscribeButton = document.getElementById("push-unsubscribe");
  if (!form) return;
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    unsupported.hidden = false;
    return;
  }
  form.hidden = false;

  function say(text) { status.textContent = text; }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function checked(name) {
    return Array.prototype.map.call(form.querySelectorAll('input[name="' + name + '"]:checked'), function (i) { return i.value; });
  }

  function api(method, body) {
    return fetch("/api/v1/push/subscriptions", {
      method: method,
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    }).then(function (response) {
      if (response.ok) return response;
      return response.json().then(function (error) { throw new Error(error.detail || "Erreur du serveur."); });
    });
  }

  function currentSubscription() {
    return navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription().then(function (subscription) {
        return {registration: registration, subscription: subscription};
      });
    });
  }

  currentSubscription().then(function (state) {
    if (state.subscription) {
      unsubscribeButton.hidden = false;
      say("Les notifications sont activées sur cet appareil. Vous pouvez modifier vos choix.");
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    say("Activation en cours…");
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error("Vous avez refusé les notifications dans votre navigateur.");
      return Promise.all([currentSubscription(), fetch("/api/v1/push/key").then(function (r) { return r.json(); })]);
    }).then(function (results) {
      var state = results[0];
      if (state.subscription) return state.subscription;
      return state.registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: keyBytes(results[1].public_key)});
    }).then(function (subscription) {
      var data = subscription.toJSON();
      return api("POST", {
        endpoint: data.endpoint,
        keys: data.keys,
        alerts: form.querySelector("#id_alerts").checked,
        topics: checked("topics"),
        sectors: checked("sectors"),
      });
    }).then(function () {
      unsubscribeButton.hidden = false;
      say("C’est fait : vous recevrez les notifications choisies.");
    }).catch(function (error) { say("Les notifications n’ont pas pu être activées : " + error.message); });
  });

  unsubscribeButton.addEventListener("click", function () {
    currentSubscription().then(function (state) {
      if (!state.subscription) return null;
      var data = state.subscription.toJSON();
      return api("DELETE", {endpoint: data.endpoint, auth: data.keys.auth}).catch(function () { return null; })
        .then(function () { return state.subscription.unsubscribe(); });
    }).then(function () {
      unsubscribeButton.hidden = true;
      say("Vous êtes désabonné : plus aucune notification ne sera envoyée à cet appareil.");
    });
  });
})();
