/* "Recevoir les rappels sur cet appareil": a Web Push subscription for the safe's reminders. */
(function () {
  "use strict";
  const box = document.getElementById("push-box");
  const button = document.getElementById("push-enable");
  const status = document.getElementById("push-status");
  if (!box || !("serviceWorker" in navigator) || !("PushManager" in window)) {
    if (status) status.textContent = "Cet appareil ne permet pas les notifications : les rappels arrivent par SMS.";
    return;
  }
  button.hidden = false;
  // The CSRF cookie is HttpOnly: the token comes from the page's form.
  const csrf = () => (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  const urlBase64 = (text) => {
    const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };
  button.addEventListener("click", () => {
    Notification.requestPermission().then((permission) => {
      if (permission !== "granted") throw new Error("refusé");
      return Promise.all([navigator.serviceWorker.register("/sw.js").then(() => navigator.serviceWorker.ready),
        fetch("/api/v1/push/key").then((r) => r.json())]);
    }).then(([registration, key]) => registration.pushManager.getSubscription().then((existing) => existing ||
      registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: urlBase64(key.public_key)})))
      .then((subscription) => fetch(box.dataset.url, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
        body: JSON.stringify(subscription.toJSON()),
      })).then((response) => { status.textContent = response.ok ? "Cet appareil recevra vos rappels." : "Abonnement refusé."; })
      .catch(() => { status.textContent = "Notifications refusées ou indisponibles : les rappels arrivent par SMS."; });
  });
})();
