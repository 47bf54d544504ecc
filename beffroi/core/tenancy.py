"""Which commune a request is for, from its host name.

One installation serves several communes; every public query is filtered by
``request.commune``, so a request on one commune's host name never shows
another's content.
"""

import time
from threading import Lock

from django.http import HttpResponseNotFound
from django.template.loader import render_to_string

from beffroi.core.models import Domain, Organisation

_TTL_SECONDS = 30.0


class HostDirectory:
    """Host name → commune, cached for a few seconds in each process."""

    def __init__(self):
        self._entries: dict[str, tuple[float, Organisation | None]] = {}
        self._lock = Lock()

    def peek(self, host: str) -> tuple[bool, Organisation | None]:
        """The cached answer, without touching the database: (known, commune)."""
        cached = self._entries.get(host.lower().rstrip("."))
        if cached and cached[0] > time.monotonic():
            return True, cached[1]
        return False, None

    def lookup(self, host: str) -> Organisation | None:
        known, commune = self.peek(host)
        if known:
            return commune
        host = host.lower().rstrip(".")
        now = time.monotonic()
        domain = (
            Domain.objects.select_related("organisation")
            .filter(hostname=host, organisation__is_active=True)
            .first()
        )
        commune = domain.organisation if domain else None
        with self._lock:
            if len(self._entries) > 1000:  # unknown hosts must not grow this forever
                self._entries.clear()
            self._entries[host] = (now + _TTL_SECONDS, commune)
        return commune

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


hosts = HostDirectory()


def split_host(host: str) -> str:
    """Host without its port ("[::1]:8000" → "[::1]")."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        commune = hosts.lookup(split_host(request.get_host()))
        if commune is None:
            html = render_to_string("site/unknown_host.html", request=None)
            return HttpResponseNotFound(html)
        request.commune = commune
        return self.get_response(request)
