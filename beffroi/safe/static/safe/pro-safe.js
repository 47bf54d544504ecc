/* A professional's view of a safe: when the beneficiary (or a colleague)
   breaks the link, what the page shows is removed at once. The stream opens
   only while the link is active: refused (the link broke before it
   connected, or the session ended), the page closes the same way. */
(function () {
  "use strict";
  const root = document.getElementById("pro-safe");
  if (!root || !window.EventSource) return;
  const stream = new EventSource("/flux/coffre?lien=" + encodeURIComponent(root.dataset.link) +
    "&since=" + encodeURIComponent(root.dataset.since));

  function close(title, text) {
    stream.close();
    const notice = document.createElement("p");
    notice.className = "message message--error";
    notice.setAttribute("role", "alert");
    notice.textContent = text;
    const back = document.createElement("a");
    back.href = root.dataset.back;
    back.textContent = "Retour aux coffres-forts accompagnés";
    const heading = document.createElement("h1");
    heading.textContent = title;
    root.replaceChildren(heading, notice, back);
  }

  stream.addEventListener("link.broken", () => {
    close("Lien rompu", "Le lien avec ce coffre vient d’être rompu : son contenu n’est plus accessible.");
  });
  stream.addEventListener("error", () => {
    // CLOSED: the server refused the stream (a dropped connection is retried, CONNECTING).
    if (stream.readyState === EventSource.CLOSED) {
      close("Coffre inaccessible", "Ce coffre n’est plus accessible depuis cette page : le lien a été rompu ou votre session a pris fin.");
    }
  });
})();
