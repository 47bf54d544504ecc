/* The recovery codes' page: a button that prints it (hidden without scripts). */
(function () {
  "use strict";
  const button = document.getElementById("print-codes");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", () => window.print());
})();
