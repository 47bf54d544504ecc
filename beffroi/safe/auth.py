"""Signing in with a password that waits (services/assisted.py).

``WaitingPasswordBackend`` comes after Django's (so that ``force_login`` and
every ordinary sign-in keep Django's): it is asked only when the password is
not the owner's, and accepts a safe's waiting password. A session it opened
is *restricted* while that password waits: ``middleware.py`` keeps it on the
pages that show what the safe shares with the organisation that asked, and
the safe's views then look through that organisation's link.

Such a session's hash (Django checks it at every request) is made from the
waiting password, not from the owner's: once that password no longer waits
(cancelled, void because the owner changed theirs, or become the owner's
own at the end of the wait), the session no longer matches and ends. The
owner's former password is still checked by Django's backend, and opens
everything as before.
"""

from functools import partial

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.utils.crypto import salted_hmac

from beffroi.safe.models import WaitingReset

BACKEND = "beffroi.safe.auth.WaitingPasswordBackend"


def _waiting_for(**owner):
    return (WaitingReset.objects.filter(status=WaitingReset.Status.WAITING, **owner)
            .select_related("safe__owner", "organisation", "link").first())


def _restricted_hash(waiting: WaitingReset) -> str:
    return salted_hmac("beffroi.safe.restricted-session", f"{waiting.pk}:{waiting.password}",
                       algorithm="sha256").hexdigest()


def _restricted(user, waiting: WaitingReset):
    """``user``, whose session hash is the waiting password's. ``limited_sign_in``
    tells the core that this sign-in must not make the browser a known one."""
    user.get_session_auth_hash = partial(_restricted_hash, waiting)
    user.limited_sign_in = True
    return user


class WaitingPasswordBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        from beffroi.safe.services.assisted import complete_if_due, still_valid

        if not username or not password:
            return None
        waiting = _waiting_for(safe__owner__username__iexact=username.strip())
        if waiting is None or not still_valid(waiting):
            return None
        user = waiting.safe.owner
        if not self.user_can_authenticate(user):
            return None
        if complete_if_due(waiting):
            # The wait is over: it is now the owner's password, opening everything.
            user.refresh_from_db(fields=["password"])
            return user if user.check_password(password) else None
        return _restricted(user, waiting) if check_password(password, waiting.password) else None

    def get_user(self, user_id):
        from beffroi.safe.services.assisted import complete_if_due, still_valid

        user = super().get_user(user_id)
        if user is None:
            return None
        waiting = _waiting_for(safe__owner_id=user_id)
        if waiting is None or complete_if_due(waiting) or not still_valid(waiting):
            return user  # a session opened with the waiting password no longer matches: it ends
        return _restricted(user, waiting)


def restriction(request) -> WaitingReset | None:
    """The waiting password this request's session was opened with, or None (a full session, or none)."""
    if request.session.get(BACKEND_SESSION_KEY) != BACKEND or not request.user.is_authenticated:
        return None
    return _waiting_for(safe__owner=request.user)


@receiver(user_logged_in, dispatch_uid="safe-restricted-sign-in")
def journal_restricted_sign_in(sender, request, user, **kwargs):
    """A sign-in with the waiting password is in the safe's journal, and in the notices."""
    if getattr(user, "backend", "") != BACKEND:
        return
    from beffroi.safe.events import record_event
    from beffroi.safe.keys import safe_key

    waiting = _waiting_for(safe__owner=user)
    if waiting is None:
        return
    with transaction.atomic():
        record_event(safe=waiting.safe, key=safe_key(waiting.safe), actor=user, action="safe.restricted_sign_in",
                     label=waiting.organisation.name)
