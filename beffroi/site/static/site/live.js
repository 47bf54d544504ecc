/* Live updates of public pages over Server-Sent Events, and the service worker.
   A published alert appears at the top of every open page; other publications
   are announced in a polite live region. Nothing here is needed to read pages. */
(function () {
  "use strict";

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* offline reading unavailable */ });
  }
  if (!("EventSource" in window)) return;

  var body = document.body;
  var since = body.dataset.liveSince || "";
  var alertsBox = document.getElementById("alertes");
  var notice = document.getElementById("live-notice");
  var retryDelay = 2000;

  var LEVELS = {info: "Information", warning: "Vigilance", danger: "Danger"};
  var DATE = new Intl.DateTimeFormat("fr-FR", {weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit"});

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function alertElement(post) {
    var article = element("article", "alert alert--" + (post.level || "info"));
    article.dataset.postId = String(post.id);
    var titleId = "alerte-" + post.id;
    article.setAttribute("aria-labelledby", titleId);
    article.appendChild(element("p", "alert__level", LEVELS[post.level] || "Alerte"));
    var title = element("h2", "alert__title");
    title.id = titleId;
    var link = element("a", null, post.title);
    link.href = post.url;
    title.appendChild(link);
    article.appendChild(title);
    if (post.summary) article.appendChild(element("p", "alert__message", post.summary));
    if (post.expires_at) {
      var until = element("p", "alert__until", "Jusqu’au " + DATE.format(new Date(post.expires_at)));
      article.appendChild(until);
    }
    return article;
  }

  function findAlert(id) {
    return alertsBox ? alertsBox.querySelector('[data-post-id="' + id + '"]') : null;
  }

  function showAlert(post) {
    if (!alertsBox) return;
    var fresh = alertElement(post);
    var existing = findAlert(post.id);
    if (existing) existing.replaceWith(fresh);
    else alertsBox.prepend(fresh);
  }

  function announce(post) {
    if (!notice) return;
    notice.textContent = "";
    notice.appendChild(document.createTextNode("Nouvelle publication : " + post.title + ". "));
    var link = element("a", null, "Lire");
    link.href = post.url;
    notice.appendChild(link);
  }

  function remember(event) {
    if (event.lastEventId) since = event.lastEventId;
  }

  function onPost(event) {
    remember(event);
    var post = JSON.parse(event.data).post;
    if (post.kind === "alert") showAlert(post);
    else if (event.type === "post.published") announce(post);
  }

  function onRemoved(event) {
    remember(event);
    var post = JSON.parse(event.data).post;
    var existing = findAlert(post.id);
    if (existing) existing.remove();
  }

  function connect() {
    var source = new EventSource("/flux/public" + (since ? "?since=" + encodeURIComponent(since) : ""));
    source.addEventListener("open", function () { retryDelay = 2000; });
    source.addEventListener("post.published", onPost);
    source.addEventListener("post.updated", onPost);
    source.addEventListener("post.removed", onRemoved);
    source.addEventListener("site.changed", remember);
    source.addEventListener("reset", function () {
      if (notice) notice.textContent = "De nouvelles informations sont disponibles : rechargez la page.";
    });
    source.addEventListener("error", function () {
      // The browser retries by itself unless the server answered an error:
      // then try again later, from the last event received.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retryDelay + Math.random() * 1000);
        retryDelay = Math.min(retryDelay * 2, 60000);
      }
    });
  }

  connect();
})();
