/* Upload with a progress bar. Without scripts the form posts as usual. */
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  const row = document.getElementById("upload-progress-row");
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  form.addEventListener("submit", (event) => {
    const file = form.querySelector("input[type=file]");
    if (!file.files.length) return;  // the server says what is missing
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
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
    request.send(new FormData(form));
  });
})();
