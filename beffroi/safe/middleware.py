"""A session opened with a waiting password (auth.py) reaches, among the pages
that depend on who is signed in (``GUARDED``), only what that password may
open: the safe's home, which then shows what the safe shares with the
organisation that asked, the files shown there, the pages to get a new
password by oneself, and sign-out. The public site (and its service worker)
stays as it is for anyone.

Everything else is refused, first of all the account's pages: from such a
session, enrolling a second factor or a passkey, adding an e-mail address,
changing the password or the mobile would turn a limited access into the
whole safe. django-allauth's re-authentication would accept the waiting
password (it calls ``authenticate``), so the refusal must come before it.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpResponseForbidden
from django.shortcuts import redirect

from beffroi.safe.auth import BACKEND, restriction

GUARDED = ("/coffre/", "/compte/", "/accompagnement/", "/gestion/", "/api/")
ALLOWED = frozenset({
    "safe:home", "safe:document_file", "safe:document_thumbnail",
    "safe:forgot", "safe:reset_code", "safe:recovery_reset",
    "account_logout",
})


class RestrictedSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Public pages never touch the session here (reading it would add "Vary: Cookie" to shared pages);
        # elsewhere, only the session is read, with no query, unless the waiting passwords' backend opened it.
        if not request.path.startswith(GUARDED) or settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        if request.session.get(BACKEND_SESSION_KEY) != BACKEND or restriction(request) is None:
            return None
        if request.resolver_match is not None and request.resolver_match.view_name in ALLOWED:
            return None
        if request.method in ("GET", "HEAD"):
            messages.info(request, "Avec ce mot de passe provisoire, seule cette page est ouverte pour l’instant.")
            return redirect("safe:home")
        return HttpResponseForbidden("Refusé avec un mot de passe provisoire.")
