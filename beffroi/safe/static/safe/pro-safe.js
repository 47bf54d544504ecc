/* A professional's view of a safe: when the beneficiary (or a colleague)
   breaks the link, what the page shows is removed at once. */
(function () {
  "use strict";
  const root = document.getElementById("pro-safe");
  if (!root || !window.EventSource) return;
  const stream = new EventSource("/flux/coffre?lien=" + encodeURIComponent(root.dataset.link) +
    "&since=" + encodeURIComponent(root.dataset.since));
  stream.addEventListener("link.broken", () => {
    stream.close();
    const notice = document.createElement("p");
    notice.className = "message message--error";
    notice.setAttribute("role", "alert");
    notice.textContent = "Le lien avec ce coffre vient d’être rompu : son contenu n’est plus accessible.";
    const back = document.createElement("a");
    back.href = root.dataset.back;
    back.textContent = "Retour aux coffres-forts accompagnés";
    const heading = document.createElement("h1");
    heading.textContent = "Lien rompu";
    root.replaceChildren(heading, notice, back);
  });
})();
