"""No back-office page without login, a second factor and a role in this commune."""

from importlib import import_module

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse

from beffroi.core.models import Membership

BACKOFFICE_PREFIX = "/gestion/"


def has_second_factor(request) -> bool:
    """True when this session was authenticated with a second factor."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


def staff_user(request):
    """The person signed in on this request with a second factor in this
    session, or None: the one test behind the back office, the
    professionals' pages and the streams they follow."""
    user = request.user
    if not user.is_authenticated or not has_second_factor(request):
        return None
    return user


def staff_user_for_session(session_key: str):
    """``staff_user`` for a session cookie alone (a stream, outside Django's request cycle)."""
    if not session_key:
        return None
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    request.user = get_user(request)
    return staff_user(request)


class StaffAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(BACKOFFICE_PREFIX):
            denied = self.check(request)
            if denied is not None:
                return denied
        return self.get_response(request)

    def check(self, request):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        user = staff_user(request)
        if user is None:
            if not Authenticator.objects.filter(user=request.user).exclude(type=Authenticator.Type.RECOVERY_CODES).exists():
                messages.info(
                    request,
                    "Pour accéder à l’espace de gestion, activez d’abord une double authentification.",
                )
                return redirect(reverse("mfa_activate_totp"))
            # Authenticated without the second factor the account has: sign in
            # again, this time with it.
            logout(request)
            return redirect_to_login(request.get_full_path())
        membership = Membership.objects.of(user, request.commune).select_related("service").first()
        if membership is None or not membership.can("view_backoffice"):
            return render(request, "core/forbidden.html", status=403)
        request.membership = membership
        return None
