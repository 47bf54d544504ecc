"""The Django side of large request bodies: which routes take one, and what
they check before a byte of it is received.

The edge receives every body whole before Django runs (so that no thread
waits on a slow client), but asks Django first when the body is larger than
it keeps in memory (``beffroi.edge.wsgi``, the *preflight*): a request with
the headers only and ``request.META["beffroi.preflight"]`` set.

- A route that does not declare anything takes bodies up to
  ``REQUEST_BODY_MAX_BYTES`` (forms with photos).
- A view decorated with ``@large_body(limit=...)`` runs in the preflight: its
  checks (signed in, rights, declared size, room left) answer as usual, and
  where it would start reading it calls ``await_body(request)``, which in the
  preflight tells the edge to receive the body (then the view runs again,
  for real, with the body), and does nothing otherwise.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from beffroi.edge.wsgi import CONTINUE_HEADER, PREFLIGHT_ENVIRON

_LIMIT_ATTRIBUTE = "large_body_limit"


class BodyAwaited(Exception):
    """Raised by ``await_body`` in a preflight: the checks passed."""


def large_body(*, limit: int | Callable[[], int]):
    """The view takes bodies up to ``limit`` bytes and runs in the preflight
    until it calls ``await_body``."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            return view(request, *args, **kwargs)

        setattr(wrapper, _LIMIT_ATTRIBUTE, limit)
        return wrapper

    return decorate


def is_preflight(request) -> bool:
    return bool(request.META.get(PREFLIGHT_ENVIRON))


def await_body(request) -> None:
    """Where the view starts reading the body: in a preflight, stop here."""
    if is_preflight(request):
        raise BodyAwaited()


def _go_on(limit: int) -> HttpResponse:
    response = HttpResponse(status=204)
    response[CONTINUE_HEADER.decode()] = str(limit)
    return response


def declared_length(request) -> int | None:
    """The body's announced length; None when there is none (a chunked body) or it is unreadable."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _too_large(request, limit: int):
    """A clear answer when the announced length is over the limit (a chunked
    body over it is cut by the edge as it arrives)."""
    length = declared_length(request) or 0
    if length <= limit:
        return None
    message = f"Envoi trop volumineux : {limit // (1024 * 1024)} Mo au plus."
    if not request.accepts("text/html"):
        return JsonResponse({"erreur": message}, status=413)
    return render(request, "site/413.html", {"limit_mb": limit // (1024 * 1024)}, status=413)


class LargeBodyMiddleware:
    """Last in MIDDLEWARE, so that every gate before it (sign-in, the back
    office's second factor, the commune) has answered a preflight already."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_preflight(request):
            return self.get_response(request)
        try:
            view = resolve(request.path_info).func
        except Resolver404:
            return self.get_response(request)  # Django's 404, without the body
        limit = getattr(view, _LIMIT_ATTRIBUTE, None)
        if limit is None:
            return _too_large(request, settings.REQUEST_BODY_MAX_BYTES) or _go_on(settings.REQUEST_BODY_MAX_BYTES)
        request.large_body_limit = limit() if callable(limit) else limit
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, BodyAwaited):
            return _go_on(request.large_body_limit)
        return None
