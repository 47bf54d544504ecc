/* Beffroi service worker: offline reading of the last pages, and Web Push. */
"use strict";
const VERSION = "{{ version|escapejs }}";
const SHELL = [{% for url in shell %}"{{ url|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
const SHELL_CACHE = "shell-" + VERSION;
const PAGES_CACHE = "pages-v1";
const PRIVATE = ["/flux/", "/gestion/", "/compte/", "/api/v1/push/"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).catch(() => null));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) => Promise.all(
      names.filter((name) => name.startsWith("shell-") && name !== SHELL_CACHE).map((name) => caches.delete(name))
    )).then(() => self.clients.claim())
  );
});

function networkFirst(request) {
  return fetch(request).then((response) => {
    if (response.ok && response.type === "basic") {
      const copy = response.clone();
      caches.open(PAGES_CACHE).then((cache) => cache.put(request, copy));
    }
    return response;
  }).catch(() => caches.match(request).then((cached) => {
    if (cached) return cached;
    // A page never opened before: say so, with a link to the saved home page.
    if (request.mode === "navigate") return caches.match("{% url 'site:offline' %}");
    return Response.error();
  }));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (PRIVATE.some((prefix) => url.pathname.startsWith(prefix))) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((cached) => cached || fetch(request)));
    return;
  }
  event.respondWith(networkFirst(request));
});

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = {title: "Information de la commune"}; }
  event.waitUntil(self.registration.showNotification(data.title || "Information de la commune", {
    body: data.body || "",
    tag: data.tag,
    data: {url: data.url || "/"},
    icon: "{% url 'site:icon' 192 %}",
    requireInteraction: data.kind === "alert",
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data.url || "/", self.location.origin).href;
  event.waitUntil(self.clients.matchAll({type: "window"}).then((windows) => {
    for (const client of windows) {
      if (client.url === target && "focus" in client) return client.focus();
    }
    return self.clients.openWindow(target);
  }));
});
