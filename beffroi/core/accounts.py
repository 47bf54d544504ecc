"""django-allauth integration: closed sign-up, encrypted TOTP secrets, second
factor recorded on enrolment, failed sign-ins bounded (``signin_limits``) and
allauth's own rate limits keyed by a keyed hash of the client."""

import base64
import hashlib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import (
    AUTHENTICATION_METHODS_SESSION_KEY,
    get_authentication_records,
    record_authentication,
)
from allauth.account.signals import password_reset, user_logged_in
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.signals import authenticator_added
from cryptography.fernet import Fernet
from django import forms
from django.conf import settings
from django.dispatch import receiver
from django.urls import reverse

from beffroi.core import counters, signin_limits


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Staff accounts are created by administrators; inhabitants need none
        # (beneficiaries open their safe at /coffre/creer/).
        return False

    def get_login_redirect_url(self, request):
        """Staff go to the back office; professionals of support organisations
        to the safes they accompany; beneficiaries to their safe."""
        user = request.user
        if not user.memberships.filter(is_active=True).exists():
            return reverse("safe:home")
        if not user.memberships.filter(is_active=True).exclude(role__in=["social_worker", "aidant"]).exists():
            return reverse("safe:pro_safes")
        return super().get_login_redirect_url(request)

    def get_client_ip(self, request):
        """What allauth's rate limits ("30/m/ip"…) key on, and keep in the cache:
        a keyed hash of the client's network, never its address."""
        return counters.client_digest(request, "allauth")

    def pre_authenticate(self, request, **credentials):
        """Replaces allauth's per-account lock-out (which anyone could trigger)
        with ``signin_limits``; allauth's "login_failed" limit is left to the
        second factor's codes."""
        try:
            self._signin_attempt = signin_limits.begin(request, credentials)
        except signin_limits.TooManyFailures as refused:
            raise forms.ValidationError(refused.message, code="too_many_login_attempts") from None

    def authenticate(self, request, **credentials):
        user = super().authenticate(request, **credentials)
        if user is not None:
            self._signin_attempt.succeeded()
        return user

    def authentication_failed(self, request, **credentials):
        self._signin_attempt.failed()


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets are stored encrypted: a copy of the database alone does
    not let anyone generate an agent's codes."""

    @staticmethod
    def _fernet() -> Fernet:
        material = settings.MFA_ENCRYPTION_KEY or settings.SECRET_KEY
        key = hashlib.sha256(b"beffroi-mfa:" + material.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, text: str) -> str:
        return self._fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return self._fernet().decrypt(encrypted_text.encode()).decode()


@receiver(authenticator_added)
def record_enrolment(sender, request, user, authenticator, **kwargs):
    """Enrolling a TOTP or a passkey proves possession of it: count it as this
    session's second factor, so that a newly enrolled agent can go on."""
    record_authentication(request, user, "mfa", type=authenticator.type, id=authenticator.pk)


@receiver(user_logged_in)
def remember_device(sender, request, user, response=None, **kwargs):
    """A complete sign-in (second factor included) makes this browser a known
    one for the account: attempts from it escape the limits others can exhaust.
    Not a sign-in that opens only part of an account (``user.limited_sign_in``,
    a safe's waiting password on a professional's screen)."""
    if response is not None and not getattr(user, "limited_sign_in", False):
        signin_limits.remember_device(request, response, user)


@receiver(password_reset)
def reset_forgets_failures(sender, request, user, **kwargs):
    """A reset by e-mail link proves the owner: unknown browsers may try again."""
    signin_limits.forget_account_failures(user=user)


@receiver(user_logged_in)
def password_login_is_a_fresh_proof(sender, request, user, **kwargs):
    """Typing one's password at sign-in proves what a re-authentication would:
    an agent who must enrol a second factor right after signing in is not
    asked for the password a second time (the window stays allauth's)."""
    records = get_authentication_records(request, user)
    if records and records[-1].get("method") == "password":
        records[-1]["reauthenticated"] = True
        request.session[AUTHENTICATION_METHODS_SESSION_KEY] = records
