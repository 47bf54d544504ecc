/* Upload with a progress bar: the file goes as the request's body (the server
   encrypts it as it arrives, with no form parsing), the other fields in the
   X-Document header. Without scripts the form posts as usual (multipart). */
(function () {
  "use strict";
  const form = document.querySelector("form[data-body-url]");
  if (!form || !window.XMLHttpRequest || !window.FormData || !window.URLSearchParams) return;
  const row = form.querySelector(".upload-progress-row");
  const bar = form.querySelector("progress");
  const status = form.querySelector("[role=status]");
  form.addEventListener("submit", (event) => {
    const input = form.querySelector("input[type=file]");
    if (!input.files.length) return;  // the server says what is missing
    event.preventDefault();
    const file = input.files[0];
    const details = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (typeof value === "string" && name !== "csrfmiddlewaretoken") details.append(name, value);
    }
    details.append("filename", file.name);
    const request = new XMLHttpRequest();
    request.open("POST", form.dataset.bodyUrl);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
    request.setRequestHeader("X-Document", details.toString());
    row.hidden = false;
    status.textContent = "Envoi en cours…";
    request.upload.addEventListener("progress", (progress) => {
      if (!progress.lengthComputable) return;
      const percent = Math.round(100 * progress.loaded / progress.total);
      bar.value = percent;
      bar.textContent = percent + " %";
      if (percent === 100) status.textContent = "Chiffrement et enregistrement…";
    });
    request.addEventListener("load", () => {
      let next = window.location.href;
      try { next = JSON.parse(request.responseText).url || next; } catch (error) { /* not JSON: reload the page */ }
      window.location.assign(next);
    });
    request.addEventListener("error", () => {
      row.hidden = true;
      status.textContent = "L’envoi a échoué : vérifiez votre connexion et réessayez.";
    });
    request.send(file);
  });
})();
